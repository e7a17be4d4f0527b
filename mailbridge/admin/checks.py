""""Test connection" for a whole mailbox: for IMAP, log in and find every configured folder, then (when the
mailbox sends) connect and log in to SMTP submission; for Exchange, the protocol's own check (Graph: a token,
the mailbox and its folders). The outcome is one reason code and a message in words; a password never appears
in either (the connectors' errors leave it out, and so do we)."""

import ssl

from crm_core.errors import CrmError
from crm_core.services.mailboxes import Endpoint, MailboxConnection, TestOutcome
from mailbridge.errors import FolderMissing, MailError
from mailbridge.sources.ews.check import check_ews
from mailbridge.sources.graph.check import check_graph
from mailbridge.sources.imap import ImapSession, ImapSettings
from mailbridge.transports.smtp import SmtpSettings, SmtpTransport

DEFAULT_TIMEOUT = 20.0
CHECKS = {"graph": check_graph, "ews": check_ews}  # a protocol with a check of its own (IMAP's, with SMTP, is below)


def check_connection(connection: MailboxConnection, *, timeout: float = DEFAULT_TIMEOUT,
                     ssl_context: ssl.SSLContext | None = None) -> TestOutcome:
    """Never raises for a mail or configuration problem: the outcome says what happened."""
    exchange = CHECKS.get(connection.protocol)
    if exchange is not None:
        try:
            return exchange(connection, timeout=timeout, ssl_context=ssl_context)
        except CrmError as exc:
            return TestOutcome(False, "configuration", exc.detail)
    if connection.protocol != "imap":
        return TestOutcome(False, "unsupported", f"{connection.protocol} is not available yet")
    if connection.incoming.password is None:
        return TestOutcome(False, "credentials", "no password: give the mailbox one, or its email server profile")
    try:
        imap = _check_imap(connection, timeout, ssl_context)
        if not imap.ok or connection.outgoing is None:
            return imap
        smtp = _check_smtp(connection.outgoing, timeout, ssl_context)
    except MailError as exc:
        return TestOutcome(False, exc.reason, exc.detail)
    except CrmError as exc:  # a setting the connectors refuse (plain to a remote host)
        return TestOutcome(False, "configuration", exc.detail)
    if not smtp.ok:
        return smtp
    return TestOutcome(True, None, f"{imap.message}; {smtp.message}")


def _check_imap(connection: MailboxConnection, timeout: float, ssl_context: ssl.SSLContext | None) -> TestOutcome:
    endpoint = connection.incoming
    settings = ImapSettings.of_connection(connection, timeout=timeout, ssl_context=ssl_context)
    with ImapSession(settings) as session:
        found: list[str] = []
        missing: list[str] = []
        for name, spec in zip(connection.folders, settings.folders, strict=True):
            try:
                found.append(session.resolve_folder(spec))
            except FolderMissing:
                missing.append(name)
        if missing:
            listed = ", ".join(repr(m) for m in missing)
            return TestOutcome(False, "folder_missing", f"logged in to {endpoint.host}, but the folder"
                               f"{'s' if len(missing) > 1 else ''} {listed} {'do' if len(missing) > 1 else 'does'}"
                               " not exist")
        modes = "QRESYNC" if session.qresync else ("CONDSTORE" if session.condstore else "full comparison")
        return TestOutcome(True, None, f"IMAP: logged in to {endpoint.host} as {settings.username}; "
                           f"folders {', '.join(found)}; sync by {modes}")


def _check_smtp(endpoint: Endpoint, timeout: float, ssl_context: ssl.SSLContext | None) -> TestOutcome:
    settings = SmtpSettings(host=endpoint.host, port=endpoint.port, security=endpoint.security,  # type: ignore[arg-type]
                            username=endpoint.username, password=endpoint.password, timeout=timeout,
                            ssl_context=ssl_context)
    SmtpTransport(settings).check()
    how = f"as {settings.username}" if settings.username else "without authentication"
    return TestOutcome(True, None, f"SMTP: {endpoint.host}:{settings.effective_port} accepts us {how}")
