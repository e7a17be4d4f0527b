"""The source contract (tests/mailbridge/test_source_contract.py) held against the EWS source, over exchangelib's
own HTTP path to the fake Exchange server (tests/fakes/ews), the mail written into the fake mailbox as Outlook
would leave it: \\Seen is the read state, \\Flagged a follow-up flag, \\Answered the last verb "replied". Once with
Basic authentication, once with NTLM (a handshake per connection)."""

from collections.abc import Iterable, Sequence

import pytest

from mailbridge.sources.base import MailSource
from mailbridge.sources.ews import EwsSettings, EwsSource, folder_spec
from tests.fakes.ews import EwsFake
from tests.fakes.ews.fixtures import ews, ews_certificate  # noqa: F401  (fixtures)
from tests.mailbridge.test_source_contract import Room, SourceContract, message
from tests.mailbridge.tls import TestCertificate

ADDRESS, LOGIN, PASSWORD = "rep@contoso.example", "CONTOSO\\rep", "Passw0rd!"


class EwsRoom(Room):
    name = "ews"
    unsupported = {"uidvalidity": "EWS item ids never renumber; a folder made again has a new id, and a cursor of "
                                  "the old one is refused (CursorInvalid) instead"}

    def __init__(self, fake: EwsFake, certificate: TestCertificate, auth_type: str) -> None:
        self.fake, self.certificate, self.auth_type = fake, certificate, auth_type
        self.name = f"ews ({auth_type})"
        self.box = fake.add_mailbox(ADDRESS, username=LOGIN, password=PASSWORD)
        self.ids: dict[tuple[str, str], str] = {}

    @staticmethod
    def _folder(folder: str) -> str:
        return "inbox" if folder == "INBOX" else folder

    def source(self, folders: Sequence[str] = ("INBOX",)) -> MailSource:
        return EwsSource(EwsSettings(ADDRESS, self.auth_type, self.fake.url, username=LOGIN, password=PASSWORD,  # type: ignore[arg-type]
                                     folders=tuple(folder_spec(f) for f in folders), timeout=10,
                                     ssl_context=self.certificate.client_context()))

    def append(self, folder: str, subject: str, flags: Iterable[str] = ()) -> None:
        flags = set(flags)
        self.ids[folder, subject] = self.box.add_message(self._folder(folder), message(subject),
                                                         is_read="\\Seen" in flags, flagged="\\Flagged" in flags,
                                                         answered="\\Answered" in flags)

    def set_flags(self, folder: str, subject: str, flags: Iterable[str]) -> None:
        flags = set(flags)
        self.box.update(self.ids[folder, subject], is_read="\\Seen" in flags, flagged="\\Flagged" in flags,
                        answered="\\Answered" in flags)

    def expunge(self, folder: str, subject: str) -> None:
        self.box.delete(self.ids.pop((folder, subject)))

    def create_folder(self, name: str) -> None:
        self.box.create_folder(name)


class TestEwsSource(SourceContract):
    # Left out: what EwsRoom.unsupported says EWS lacks.
    test_a_uidvalidity_change_is_a_full_resync = None

    @pytest.fixture(params=["basic", "ntlm"])
    def room(self, request: pytest.FixtureRequest, ews: EwsFake,  # noqa: F811  (the imported fixtures)
             ews_certificate: TestCertificate) -> Room:  # noqa: F811
        return EwsRoom(ews, ews_certificate, request.param)
