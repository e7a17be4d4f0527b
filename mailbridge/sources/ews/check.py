""""Test connection" for an EWS mailbox: log in, reach the mailbox, find each configured folder, and say in one
reason code what went wrong, with the message in words (never a secret).

Reasons: "auth" (the login or the token was refused), "access_denied" (the login works but may not open this
mailbox), "mailbox_not_found", "ews_disabled" (HTTP 403: EWS blocked for the mailbox or the application),
"throttled" (ErrorServerBusy: not waited out here, the answer says how long to wait), "dns", "connect", "tls",
"folder_missing", "credentials" (no password), "configuration", or "protocol"/"unavailable" for answers we did
not expect. `ok` is True with reason None when everything works."""

import dataclasses
import ssl

from crm_core.errors import CrmError
from crm_core.services.mailboxes import MailboxConnection, TestOutcome
from mailbridge.errors import FolderMissing, MailError
from mailbridge.sources.ews.folders import resolve
from mailbridge.sources.ews.session import EwsSession
from mailbridge.sources.ews.settings import EwsSettings


def _plural(names: list[str]) -> str:
    listed = ", ".join(repr(n) for n in names)
    return f"folders {listed} do not exist" if len(names) > 1 else f"folder {listed} does not exist"


def check_ews(connection: MailboxConnection, *, timeout: float = 20.0,
              ssl_context: ssl.SSLContext | None = None) -> TestOutcome:
    """Never raises for a mail or configuration problem: the outcome says what happened."""
    try:
        settings = EwsSettings.of_connection(connection, timeout=timeout, ssl_context=ssl_context)
    except CrmError as exc:
        return TestOutcome(False, "configuration", exc.detail)
    if settings.auth_type != "oauth" and not settings.password:
        return TestOutcome(False, "credentials", "no password: give the mailbox one, or its email server profile")
    # A test reports throttling at once, with the server's wait, rather than waiting it out.
    settings = dataclasses.replace(settings, busy_retries=0)
    who = settings.username if settings.auth_type != "oauth" else f"application {settings.client_id}"
    try:
        with EwsSession(settings) as session:
            found: list[str] = []
            missing: list[str] = []
            for name, spec in zip(connection.folders, settings.folders, strict=True):
                try:
                    found.append(session.call(f"finding folder {name!r}",
                                              lambda account, s=spec: resolve(account, s)).name)
                except FolderMissing:
                    missing.append(name)
            if missing:
                return TestOutcome(False, "folder_missing", f"logged in to {session.where} as {who}, but the "
                                   f"{_plural(missing)} in {settings.address}")
            version = session.account.version.fullname
            return TestOutcome(True, None, f"EWS: logged in to {session.where} ({version}) as {who}; mailbox "
                               f"{settings.address}; folders {', '.join(found)}")
    except MailError as exc:
        return TestOutcome(False, exc.reason, exc.detail)
