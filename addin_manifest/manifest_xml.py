"""The add-in only (XML) manifest of the Outlook add-in, built from settings.

A MailApp that activates from Mailbox 1.1 (the legacy FormSettings and Rule, for old clients), with add-in
commands in VersionOverrides 1.0 (Mailbox 1.3) and, nested in it as the schema requires, VersionOverrides 1.1
(Mailbox 1.5): a pinnable task pane on the read, compose, appointment attendee and organizer surfaces, shared
folders and mailboxes, and WebApplicationInfo for single sign-on. Element order follows the XSDs of [MS-OWEMXML]
(OfficeApp: Id, Version, ProviderName, DefaultLocale, DisplayName, Description, IconUrl, HighResolutionIconUrl,
SupportUrl, AppDomains, Hosts, Requirements, FormSettings, Permissions, Rule, DisableEntityHighlighting,
VersionOverrides; VersionOverrides: Description, Requirements, Hosts, Resources, then VersionOverrides 1.1 in
1.0, WebApplicationInfo in 1.1).

Built as a tree (lxml's ElementTree API), never by formatting strings, so that any base URL escapes properly.
lxml rather than the standard library because each VersionOverrides must declare its own default namespace, as
Microsoft's samples do: the unprefixed xsi:type values ("VersionOverridesV1_0", "MailHost", "Button"...) are
QNames resolved against the default namespace in scope."""

from lxml import etree

from addin_manifest.urls import DESCRIPTION, NAME, PROVIDER, SSO_SCOPES, AddinUrls, sso_resource, xml_version
from crm_core.settings import Settings

OFFICE = "http://schemas.microsoft.com/office/appforoffice/1.1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
BT = "http://schemas.microsoft.com/office/officeappbasictypes/1.0"
MAILAPPOR = "http://schemas.microsoft.com/office/mailappversionoverrides/1.0"
OVERRIDES_1_0 = "http://schemas.microsoft.com/office/mailappversionoverrides"
OVERRIDES_1_1 = "http://schemas.microsoft.com/office/mailappversionoverrides/1.1"
XSI_TYPE = f"{{{XSI}}}type"

# The four surfaces, each with its own button group (ids are unique within the manifest).
SURFACES = (
    ("MessageReadCommandSurface", "MsgRead"),
    ("MessageComposeCommandSurface", "MsgCompose"),
    ("AppointmentAttendeeCommandSurface", "ApptAttendee"),
    ("AppointmentOrganizerCommandSurface", "ApptOrganizer"),
)
BUTTON_ICON_SIZES = (16, 32, 80)


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    """A child in the parent's namespace (tag without a namespace) or in the one given ({ns}tag)."""
    if not tag.startswith("{"):
        tag = f"{{{etree.QName(parent).namespace}}}{tag}"
    element = etree.SubElement(parent, tag)
    for name, value in attrs.items():
        element.set(XSI_TYPE if name == "xsi_type" else name, value)
    if text is not None:
        element.text = text
    return element


def build(settings: Settings) -> etree._Element:
    urls = AddinUrls.from_settings(settings)
    root = etree.Element(f"{{{OFFICE}}}OfficeApp", nsmap={None: OFFICE, "xsi": XSI, "bt": BT, "mailappor": MAILAPPOR})
    root.set(XSI_TYPE, "MailApp")
    _sub(root, "Id", settings.addin_id)
    _sub(root, "Version", xml_version())
    _sub(root, "ProviderName", PROVIDER)
    _sub(root, "DefaultLocale", "en-US")
    _sub(root, "DisplayName", DefaultValue=NAME)
    _sub(root, "Description", DefaultValue=DESCRIPTION)
    _sub(root, "IconUrl", DefaultValue=urls.icon(64))
    _sub(root, "HighResolutionIconUrl", DefaultValue=urls.icon(128))
    _sub(root, "SupportUrl", DefaultValue=urls.support)
    _sub(_sub(root, "Hosts"), "Host", Name="Mailbox")
    sets = _sub(_sub(root, "Requirements"), "Sets")
    _sub(sets, "Set", Name="Mailbox", MinVersion="1.1")
    _form_settings(_sub(root, "FormSettings"), urls)
    _sub(root, "Permissions", "ReadWriteItem")
    rules = _sub(root, "Rule", xsi_type="RuleCollection", Mode="Or")
    for item_type in ("Message", "Appointment"):
        for form_type in ("Read", "Edit"):
            _sub(rules, "Rule", xsi_type="ItemIs", ItemType=item_type, FormType=form_type)
    _sub(root, "DisableEntityHighlighting", "false")

    outer = etree.SubElement(root, f"{{{OVERRIDES_1_0}}}VersionOverrides", nsmap={None: OVERRIDES_1_0})
    outer.set(XSI_TYPE, "VersionOverridesV1_0")
    _overrides(outer, urls, min_mailbox="1.3", v1_1=False)
    inner = etree.SubElement(outer, f"{{{OVERRIDES_1_1}}}VersionOverrides", nsmap={None: OVERRIDES_1_1})
    inner.set(XSI_TYPE, "VersionOverridesV1_1")
    _overrides(inner, urls, min_mailbox="1.5", v1_1=True)
    if settings.entra_client_id:
        info = _sub(inner, "WebApplicationInfo")  # the last child of VersionOverrides
        _sub(info, "Id", settings.entra_client_id)
        _sub(info, "Resource", sso_resource(urls, settings.entra_client_id))
        scopes = _sub(info, "Scopes")
        for scope in SSO_SCOPES:
            _sub(scopes, "Scope", scope)
    return root


def render(settings: Settings) -> bytes:
    return etree.tostring(build(settings), xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _form_settings(form_settings: etree._Element, urls: AddinUrls) -> None:
    """The task pane for clients before add-in commands (Mailbox 1.1): read and compose forms."""
    read = _sub(form_settings, "Form", xsi_type="ItemRead")
    desktop = _sub(read, "DesktopSettings")
    _sub(desktop, "SourceLocation", DefaultValue=urls.taskpane)
    _sub(desktop, "RequestedHeight", "450")
    edit = _sub(form_settings, "Form", xsi_type="ItemEdit")
    _sub(_sub(edit, "DesktopSettings"), "SourceLocation", DefaultValue=urls.taskpane)


def _overrides(overrides: etree._Element, urls: AddinUrls, *, min_mailbox: str, v1_1: bool) -> None:
    requirement_sets = _sub(_sub(overrides, "Requirements"), f"{{{BT}}}Sets", DefaultMinVersion=min_mailbox)
    _sub(requirement_sets, f"{{{BT}}}Set", Name="Mailbox")
    host = _sub(_sub(overrides, "Hosts"), "Host", xsi_type="MailHost")
    desktop = _sub(host, "DesktopFormFactor")
    if v1_1:  # delegate access and shared mailboxes: a VersionOverrides 1.1 element
        _sub(desktop, "SupportsSharedFolders", "true")
    _sub(desktop, "FunctionFile", resid="Taskpane.Url")
    for surface, key in SURFACES:
        point = _sub(desktop, "ExtensionPoint", xsi_type=surface)
        group = _sub(_sub(point, "OfficeTab", id="TabDefault"), "Group", id=f"Crm{key}Group")
        _sub(group, "Label", resid="Group.Label")
        button = _sub(group, "Control", xsi_type="Button", id=f"Crm{key}Open")
        _sub(button, "Label", resid="Button.Label")
        tip = _sub(button, "Supertip")
        _sub(tip, "Title", resid="Button.Label")
        _sub(tip, "Description", resid="Button.Tooltip")
        icon = _sub(button, "Icon")
        for size in BUTTON_ICON_SIZES:
            _sub(icon, f"{{{BT}}}Image", size=str(size), resid=f"Icon.{size}")
        action = _sub(button, "Action", xsi_type="ShowTaskpane")
        _sub(action, "SourceLocation", resid="Taskpane.Url")
        if v1_1:  # pinning: Mailbox 1.5, VersionOverrides 1.1 only
            _sub(action, "SupportsPinning", "true")
    _resources(_sub(overrides, "Resources"), urls)


def _resources(resources: etree._Element, urls: AddinUrls) -> None:
    images = _sub(resources, f"{{{BT}}}Images")
    for size in BUTTON_ICON_SIZES:
        _sub(images, f"{{{BT}}}Image", id=f"Icon.{size}", DefaultValue=urls.icon(size))
    _sub(_sub(resources, f"{{{BT}}}Urls"), f"{{{BT}}}Url", id="Taskpane.Url", DefaultValue=urls.taskpane)
    short = _sub(resources, f"{{{BT}}}ShortStrings")
    _sub(short, f"{{{BT}}}String", id="Group.Label", DefaultValue="CRM")
    _sub(short, f"{{{BT}}}String", id="Button.Label", DefaultValue="Open CRM")
    long = _sub(resources, f"{{{BT}}}LongStrings")
    _sub(long, f"{{{BT}}}String", id="Button.Tooltip",
         DefaultValue="Show the CRM records behind this mail or meeting, and track it.")
