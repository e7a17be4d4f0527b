""""Test connection" for a Graph mailbox: a token from Entra ID (the app's credential, or the user's consent),
then the mailbox's inbox and every configured folder. The outcome's reason says what to fix: "credentials"
(nothing to authenticate with), "auth" (Entra ID refused the app's secret or certificate), "consent_revoked"
(the user's or the admin's consent is missing), "access_denied" (an application access policy leaves the
mailbox out), "mailbox_not_found", "folder_missing", "throttled", "connect"/"tls"/"dns"."""

import ssl

from crm_core.services.mailboxes import MailboxConnection, TestOutcome
from mailbridge.errors import MailError
from mailbridge.sources.graph.settings import GraphSettings
from mailbridge.sources.graph.source import GraphSource


def check_graph(connection: MailboxConnection, *, timeout: float = 20.0,
                ssl_context: ssl.SSLContext | None = None) -> TestOutcome:
    settings = GraphSettings.of_connection(connection, timeout=timeout, ssl_context=ssl_context)
    try:
        with GraphSource(settings) as source:
            folders = source.folders()
            requests = source.client.sent
    except MailError as exc:
        return TestOutcome(False, exc.reason, exc.detail)
    missing = [f for f in folders if f.name is None]
    if missing:
        return TestOutcome(False, "folder_missing", "; ".join(f"{f.spec}: {f.problem}" for f in missing))
    how = "the app's permission" if settings.auth_type == "application" else "the user's consent"
    return TestOutcome(True, None, f"Microsoft Graph: {settings.user} is readable with {how}; folders "
                       f"{', '.join(str(f.name) for f in folders)} ({requests} requests)")
