"""What both add-in manifests say the same way: the add-in's names, version, and the public addresses of its
task pane and icons, all under the server's public base URL (Settings.base_url)."""

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from crm_core.settings import Settings

ASSETS = Path(__file__).parent / "assets"
# The files served under /addin/assets/: a fixed allow-list, never a path from the request.
ICON_SIZES = (16, 32, 64, 80, 128)
ASSET_NAMES = frozenset({f"icon-{size}.png" for size in ICON_SIZES} | {"color.png", "outline.png"})

NAME = "Mailbox CRM"
PROVIDER = "Mailbox CRM"
DESCRIPTION = "The CRM beside every mail and meeting: contacts, leads, cases and opportunities, and tracking."
VERSION = "1.0.0"  # the unified manifest's form; the XML manifest wants four parts (xml_version)
# Single sign-on: what the task pane asks Entra ID for, and the Graph permissions the server's on-behalf-of flow
# uses to fetch a tracked mail's MIME (shared mailboxes included).
SSO_SCOPES = ("openid", "profile", "offline_access", "User.Read", "Mail.Read", "Mail.Read.Shared")


@dataclass(frozen=True)
class AddinUrls:
    base: str  # no trailing slash

    @classmethod
    def from_settings(cls, settings: Settings) -> "AddinUrls":
        return cls(settings.base_url.rstrip("/"))

    @property
    def taskpane(self) -> str:
        return f"{self.base}/addin/taskpane.html"

    @property
    def support(self) -> str:
        return f"{self.base}/"

    def icon(self, size: int) -> str:
        return f"{self.base}/addin/assets/icon-{size}.png"

    @property
    def host(self) -> str:
        """host[:port] of the base URL: the middle of the add-in's Application ID URI (api://host/client-id)."""
        return urlsplit(self.base).netloc


def xml_version() -> str:
    parts = VERSION.split(".")
    return ".".join(parts + ["0"] * (4 - len(parts)))


def sso_resource(urls: AddinUrls, client_id: str) -> str:
    """The Application ID URI that the Entra app registration must expose (Expose an API)."""
    return f"api://{urls.host}/{client_id}"
