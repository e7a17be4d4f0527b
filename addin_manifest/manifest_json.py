"""The unified manifest for Microsoft 365 (JSON) of the same Outlook add-in, built from settings.

Schema 1.30, the newest numbered version that Microsoft's @microsoft/app-manifest package bundles (a copy is in
tests/data/addin/, the tests validate against it). The add-in part lives in "extensions": Mailbox 1.5, one
task pane runtime whose "openPage" action is pinnable, and one button on the read, compose, attendee and
organizer surfaces. What the XML manifest says with ReadWriteItem and SupportsSharedFolders, this one says with
resource-specific permissions. The icons are paths inside the app package (addin_manifest.package); every other
address is under the public base URL, which must be HTTPS for Microsoft 365 to accept the manifest."""

from typing import Any

from addin_manifest.urls import DESCRIPTION, NAME, PROVIDER, VERSION, AddinUrls, sso_resource
from crm_core.settings import Settings

MANIFEST_VERSION = "1.30"
SCHEMA_URL = f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
ACCENT_COLOR = "#1F5F8B"
COLOR_ICON = "color.png"  # 192x192, in the package
OUTLINE_ICON = "outline.png"  # 32x32, white on transparent, in the package
CONTEXTS = ("mailRead", "mailCompose", "meetingDetailsAttendee", "meetingDetailsOrganizer")
BUTTON_ICON_SIZES = (16, 32, 80)
MAILBOX = {"name": "Mailbox", "minVersion": "1.5"}


def build(settings: Settings) -> dict[str, Any]:
    urls = AddinUrls.from_settings(settings)
    icons = [{"size": size, "url": urls.icon(size)} for size in BUTTON_ICON_SIZES]
    manifest: dict[str, Any] = {
        "$schema": SCHEMA_URL,
        "manifestVersion": MANIFEST_VERSION,
        "version": VERSION,
        "id": settings.addin_id,
        "localizationInfo": {"defaultLanguageTag": "en-us"},
        "developer": {"name": PROVIDER, "websiteUrl": urls.support, "privacyUrl": urls.support,
                      "termsOfUseUrl": urls.support},
        "name": {"short": NAME, "full": NAME},
        "description": {"short": "The CRM beside every mail and meeting.", "full": DESCRIPTION},
        "icons": {"outline": OUTLINE_ICON, "color": COLOR_ICON},
        "accentColor": ACCENT_COLOR,
        "validDomains": [urls.host],
        "authorization": {"permissions": {"resourceSpecific": [
            {"name": "MailboxItem.ReadWrite.User", "type": "Delegated"},  # ReadWriteItem
            {"name": "Mailbox.SharedFolder", "type": "Delegated"},  # SupportsSharedFolders
        ]}},
        "extensions": [{
            "requirements": {"scopes": ["mail"], "capabilities": [MAILBOX]},
            "runtimes": [{
                "requirements": {"capabilities": [MAILBOX]},
                "id": "TaskPaneRuntime",
                "type": "general",
                "code": {"page": urls.taskpane},
                "lifetime": "short",
                "actions": [{"id": "ShowCrmPane", "type": "openPage", "pinnable": True}],
            }],
            "ribbons": [{
                "contexts": list(CONTEXTS),
                "tabs": [{"builtInTabId": "TabDefault", "groups": [{
                    "id": "CrmGroup",
                    "label": "CRM",
                    "icons": icons,
                    "controls": [{
                        "id": "CrmOpen",
                        "type": "button",
                        "label": "Open CRM",
                        "icons": icons,
                        "supertip": {"title": "Open CRM",
                                     "description": "Show the CRM records behind this mail or meeting, and track it."},
                        "actionId": "ShowCrmPane",
                    }],
                }]}],
            }],
        }],
    }
    if settings.entra_client_id:
        manifest["webApplicationInfo"] = {"id": settings.entra_client_id,
                                          "resource": sso_resource(urls, settings.entra_client_id)}
    return manifest
