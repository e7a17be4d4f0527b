"""The raw MIME of the mail in view in Outlook, fetched by the server from the mailbox itself.

The pane never uploads the mail: it names it (its REST item id and its Message-ID) and the server reads the
bytes where server-side sync reads them, so the activity the add-in makes is the one sync would have made, byte
for byte, and a later sync of the same mail only adds a sighting. How the mailbox is read follows its CRM
mailbox's protocol:

- Graph: the signed-in user's own delegated access when he signed in with Entra ID and the add-in has a secret
  (on-behalf-of: Exchange itself then decides whether he may read that mailbox); otherwise the mailbox's own
  connection (the app's credentials). `GET {user}/messages/{id}/$value`, as sync does.
- EWS: GetItem with the MIME content, through the mailbox's connection; Office's REST id converted to an EWS id.
- IMAP: the mailbox's folders searched by Message-ID (`UID SEARCH HEADER Message-ID`), the first copy read."""

import logging
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from crm_core.errors import Forbidden, NotFound
from crm_core.message_ids import normalise_message_id
from crm_core.services.mailboxes import MailboxConnection
from mailbridge.errors import MailError
from mailbridge.sources.graph import GraphSettings
from mailbridge.sources.graph.client import GraphClient
from mailbridge.sources.graph.folders import user_path

log = logging.getLogger(__name__)
ID_HEADER, ID_FIELD = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]", b"BODY[HEADER.FIELDS (MESSAGE-ID)]"
_ID = re.compile(r"[A-Za-z0-9_\-+/=]{1,1000}")


@dataclass(frozen=True)
class OutlookItem:
    """What the pane says of the mail in view: Office's item id in REST (v2.0) form, which is Graph's message id,
    and the Message-ID header (normalised: crm_core.message_ids, without angle brackets)."""

    rest_id: str | None
    internet_message_id: str

    @property
    def ews_id(self) -> str | None:
        """Office's convertToEwsId, done here: the REST form is the EWS id with base64's URL-safe characters, and
        its padding kept (rest_id_of), so only the two characters are swapped back. Padding is not invented: an id
        is opaque to us, and one "=" added where Exchange put none names no item."""
        if not self.rest_id:
            return None
        return self.rest_id.replace("-", "/").replace("_", "+")


class MessageMissing(NotFound):
    title = "Mail not found in the mailbox"


# A Graph client for the user's delegated access (on-behalf-of), or None when there is none to be had.
DelegatedGraph = Callable[[str], GraphClient | None]


@dataclass(frozen=True)
class FetchOptions:
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = None


def fetch_mime(connection: MailboxConnection, item: OutlookItem, options: FetchOptions,
               delegated: DelegatedGraph | None = None) -> bytes:
    """The mail's bytes; MessageMissing when the mailbox does not hold it, MailError when the server fails."""
    if connection.protocol == "graph":
        return _graph(connection, item, options, delegated)
    if connection.protocol == "ews":
        return _ews(connection, item, options)
    if connection.protocol == "imap":
        return _imap(connection, item, options)
    raise MailError(f"mail cannot be read from a {connection.protocol} mailbox", reason="unsupported")


def _graph(connection: MailboxConnection, item: OutlookItem, options: FetchOptions,
           delegated: DelegatedGraph | None) -> bytes:
    if not item.rest_id:
        raise MessageMissing("the add-in did not say which item this is (item_id)")
    client = delegated(connection.email_address) if delegated is not None else None
    delegated_client = client is not None
    if client is None:
        client = GraphClient(GraphSettings.of_connection(connection, timeout=options.timeout,
                                                         ssl_context=options.ssl_context))
    try:
        path = f"{user_path(client.settings.user)}/messages/{quote(item.rest_id, safe='')}/$value"
        try:
            return client.request("GET", path, "read the mail in view").content
        except MailError as exc:
            if exc.reason == "not_found":
                raise MessageMissing(f"{connection.email_address} holds no such mail (it may have been moved "
                                     "or deleted)") from None
            if exc.reason == "access_denied" and delegated_client:
                # Read with the user's own rights: it is Exchange saying he may not read that mailbox.
                raise Forbidden(f"Exchange refused you access to {connection.email_address}: reading a shared "
                                "mailbox's mail takes Full Access to it (an Exchange administrator grants it)"
                                ) from None
            raise
    finally:
        client.close()


def _ews(connection: MailboxConnection, item: OutlookItem, options: FetchOptions) -> bytes:
    from mailbridge.sources.ews import EwsSettings
    from mailbridge.sources.ews.items import fetch_mime as ews_fetch_mime
    from mailbridge.sources.ews.session import EwsSession

    ews_id = item.ews_id
    if ews_id is None:
        raise MessageMissing("the add-in did not say which item this is (item_id)")
    settings = EwsSettings.of_connection(connection, timeout=options.timeout, ssl_context=options.ssl_context)
    with EwsSession(settings) as session:
        found = session.call("read the mail in view", lambda account: ews_fetch_mime(account, [ews_id], 1))
    raw = next(iter(found.values()), None)
    if raw is None:
        raise MessageMissing(f"{connection.email_address} holds no such mail (it may have been moved or deleted)")
    return raw


def _imap(connection: MailboxConnection, item: OutlookItem, options: FetchOptions) -> bytes:
    from mailbridge.sources.imap.errors import imap_errors
    from mailbridge.sources.imap.session import ImapSession
    from mailbridge.sources.imap.settings import ImapSettings

    settings = ImapSettings.of_connection(connection, timeout=options.timeout, ssl_context=options.ssl_context)
    wanted = item.internet_message_id
    with ImapSession(settings) as session:
        client = session.client
        for spec in connection.folders:
            try:
                folder = session.resolve_folder(spec)
            except MailError:
                continue  # a configured folder that is gone: sync says so; here the others may hold the mail
            with imap_errors(settings.host, f"searching {folder}"):
                client.select_folder(folder, readonly=True)
                # SEARCH HEADER matches substrings: the exact header is compared before any body is read.
                uids = client.search(["HEADER", "Message-ID", wanted])
                headers = client.fetch(uids[:10], [ID_HEADER]) if uids else {}
                uid = next((u for u in uids[:10] if _message_id(headers.get(u, {}).get(ID_FIELD, b"")) == wanted),
                           None)
                if uid is None:
                    continue
                body = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {}).get(b"BODY[]")
            if body is not None:
                return bytes(body)
    raise MessageMissing(f"no mail with Message-ID {wanted} in {connection.email_address}'s synced folders")


def _message_id(header: bytes) -> str | None:
    _, _, value = header.decode("ascii", "replace").partition(":")
    return normalise_message_id(" ".join(value.split())) if value.strip() else None


def rest_id_of(value: str | None) -> str | None:
    """A REST id as the pane sends it; an EWS id (standard base64) is turned into its REST form too. Anything
    but base64's alphabet is no item id (and never reaches a URL)."""
    if not value:
        return None
    value = value.strip()
    if not _ID.fullmatch(value):
        return None
    # Office's convertToRestId only swaps base64's two characters for URL-safe ones; padding stays.
    return value.replace("/", "-").replace("+", "_")
