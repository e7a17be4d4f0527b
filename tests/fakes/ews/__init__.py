"""A fake Exchange Server speaking EWS (SOAP over HTTPS), for the EWS source and transport to be tested through
exchangelib's own HTTP path: the operations the CRM uses (SyncFolderItems, GetItem, CreateItem, UpdateItem,
GetFolder, FindFolder; Subscribe, GetStreamingEvents and Unsubscribe for streaming notifications; ConvertId for
exchangelib's version probe) answered with the documented XML, a mailbox the test fills and changes, and
switches for throttling (ErrorServerBusy with BackOffMilliseconds), broken connections, slowness, OAuth tokens,
EWS blocked for a mailbox, streaming refused and subscriptions lost.

    with running_ews(certificate) as fake:
        box = fake.add_mailbox("rep@contoso.example", username="CONTOSO\\rep", password="pw")
        item_id = box.add_message("inbox", raw)

Layout: server.py (HTTP, authentication, switches), soap.py (envelopes and faults), mailbox.py (state and change
journal), shapes.py (item and folder properties), folders.py and items.py (the operations), notifications.py
(streaming subscriptions), autodiscover.py (SOAP Autodiscover's GetUserSettings), network.py (DNS and a proxy
on loopback for autodiscover tests), fixtures.py."""

from tests.fakes.ews.mailbox import FakeFolder, FakeItem, FakeMailbox, SentMail
from tests.fakes.ews.server import EwsFake, running_ews

__all__ = ["EwsFake", "FakeFolder", "FakeItem", "FakeMailbox", "SentMail", "running_ews"]
