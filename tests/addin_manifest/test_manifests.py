"""The Outlook add-in's manifests as an administrator fetches them (GET /addin/manifest.xml, .json, .zip, and
`crm addin manifest`): generated from settings, checked offline. The unified manifest against Microsoft's own
JSON schema (tests/data/addin); the XML one parsed (ElementTree, through defusedxml): namespaces, required
elements in the order the [MS-OWEMXML] schemas demand, every address under the public base URL, escaping
intact."""

import dataclasses
import json
import struct
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from defusedxml.ElementTree import fromstring
from typer.testing import CliRunner

# A base URL with a port, a path and a query with "&": it must come out intact, escaped, in every address.
BASE = "https://crm.example.com:8443/crm?a=1&b=2"
CLIENT_ID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
SCHEMA = Path(__file__).parent.parent / "data" / "addin" / "MicrosoftTeams.schema.json"

OFFICE = "http://schemas.microsoft.com/office/appforoffice/1.1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
BT = "http://schemas.microsoft.com/office/officeappbasictypes/1.0"
OR_1_0 = "http://schemas.microsoft.com/office/mailappversionoverrides"
OR_1_1 = "http://schemas.microsoft.com/office/mailappversionoverrides/1.1"
TYPE = f"{{{XSI}}}type"

# [MS-OWEMXML]: the OfficeApp sequence (MailApp), and the mail VersionOverrides 1.0 and 1.1 sequences.
OFFICEAPP_ORDER = ["Id", "AlternateId", "Version", "ProviderName", "DefaultLocale", "DisplayName", "Description",
                   "IconUrl", "HighResolutionIconUrl", "SupportUrl", "AppDomains", "Hosts", "Requirements",
                   "FormSettings", "Permissions", "Rule", "DisableEntityHighlighting", "VersionOverrides"]
OFFICEAPP_REQUIRED = ["Id", "Version", "ProviderName", "DefaultLocale", "DisplayName", "Description", "Hosts",
                      "Requirements", "FormSettings", "Permissions", "Rule", "VersionOverrides"]
OVERRIDES_1_0_ORDER = ["Description", "Requirements", "Hosts", "Resources", "VersionOverrides"]
OVERRIDES_1_1_ORDER = ["Description", "Requirements", "Hosts", "Resources", "WebApplicationInfo"]
DESKTOP_ORDER = ["SupportsSharedFolders", "FunctionFile", "ExtensionPoint"]
SURFACES = ["MessageReadCommandSurface", "MessageComposeCommandSurface", "AppointmentAttendeeCommandSurface",
            "AppointmentOrganizerCommandSurface"]


@pytest.fixture
def addin_client(client: Any, settings: Any) -> Iterator[Any]:
    """The API client, its server configured with a public URL and an Entra app (restored afterwards)."""
    context = client.app.state.crm
    configured = settings.model_copy(update={"public_url": BASE, "entra_client_id": CLIENT_ID})
    client.app.state.crm = dataclasses.replace(context, settings=configured)
    yield client
    client.app.state.crm = context


def _local(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _assert_in_order(parent: ET.Element, order: list[str], required: list[str], namespace: str) -> None:
    children = [child for child in parent if child.tag.startswith("{")]
    names = [_local(child) for child in children]
    assert all(child.tag.startswith(f"{{{namespace}}}") for child in children
               if _local(child) != "VersionOverrides"), names
    assert [n for n in names if n in order] == names, f"unexpected children {names}"
    positions = [order.index(n) for n in names]
    assert positions == sorted(positions), f"{names} is not in the schema's order {order}"
    assert set(required) <= set(names), f"missing {set(required) - set(names)}"


def _urls_in(root: ET.Element) -> list[str]:
    return [value for element in root.iter() for value in [element.get("DefaultValue"), element.text]
            if value and "://" in value and not value.startswith("api://")]


def test_the_xml_manifest_is_a_mail_app_with_every_surface_in_schema_order_and_sign_on(addin_client: Any) -> None:
    response = addin_client.get("/addin/manifest.xml")  # no credentials: the manifest holds no secret
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = fromstring(response.content)

    assert root.tag == f"{{{OFFICE}}}OfficeApp" and root.get(TYPE) == "MailApp"
    _assert_in_order(root, OFFICEAPP_ORDER, OFFICEAPP_REQUIRED, OFFICE)
    sets = root.findall(f"{{{OFFICE}}}Requirements/{{{OFFICE}}}Sets/{{{OFFICE}}}Set")
    assert [(s.get("Name"), s.get("MinVersion")) for s in sets] == [("Mailbox", "1.1")]
    assert root.findtext(f"{{{OFFICE}}}Permissions") == "ReadWriteItem"
    assert root.findtext(f"{{{OFFICE}}}Id") == addin_client.app.state.crm.settings.addin_id

    outer = root.find(f"{{{OR_1_0}}}VersionOverrides")
    assert outer is not None and outer.get(TYPE) == "VersionOverridesV1_0"
    _assert_in_order(outer, OVERRIDES_1_0_ORDER, ["Hosts", "Resources", "VersionOverrides"], OR_1_0)
    inner = outer.find(f"{{{OR_1_1}}}VersionOverrides")
    assert inner is not None and inner.get(TYPE) == "VersionOverridesV1_1"
    _assert_in_order(inner, OVERRIDES_1_1_ORDER, ["Hosts", "Resources", "WebApplicationInfo"], OR_1_1)
    assert [_local(c) for c in inner][-1] == "WebApplicationInfo"

    for overrides, ns in ((outer, OR_1_0), (inner, OR_1_1)):
        desktop = overrides.find(f"{{{ns}}}Hosts/{{{ns}}}Host[@{TYPE}='MailHost']/{{{ns}}}DesktopFormFactor")
        assert desktop is not None
        _assert_in_order(desktop, DESKTOP_ORDER, ["ExtensionPoint"], ns)
        assert [p.get(TYPE) for p in desktop.findall(f"{{{ns}}}ExtensionPoint")] == SURFACES
        actions = desktop.findall(f".//{{{ns}}}Action[@{TYPE}='ShowTaskpane']")
        assert len(actions) == 4
        pinning = [a.findtext(f"{{{ns}}}SupportsPinning") for a in actions]
        shared = desktop.findtext(f"{{{ns}}}SupportsSharedFolders")
        if ns == OR_1_1:  # both are VersionOverrides 1.1 features
            assert pinning == ["true"] * 4 and shared == "true"
        else:
            assert pinning == [None] * 4 and shared is None
        # Every resource id a control points at is defined in its own Resources.
        defined = {e.get("id") for e in overrides.find(f"{{{ns}}}Resources").iter() if e.get("id")}
        used = {e.get("resid") for e in desktop.iter() if e.get("resid")}
        assert used <= defined and all(len(resid) <= 32 for resid in used)
        assert overrides.find(f"{{{ns}}}Resources/{{{BT}}}Images") is not None

    info = inner.find(f"{{{OR_1_1}}}WebApplicationInfo")
    assert info.findtext(f"{{{OR_1_1}}}Id") == CLIENT_ID
    assert info.findtext(f"{{{OR_1_1}}}Resource") == f"api://crm.example.com:8443/{CLIENT_ID}"
    assert "openid" in [s.text for s in info.iter(f"{{{OR_1_1}}}Scope")]

    urls = _urls_in(root)
    assert f"{BASE}/addin/taskpane.html" in urls and f"{BASE}/addin/assets/icon-80.png" in urls
    assert all(url.startswith(BASE) for url in urls), urls
    assert b"a=1&amp;b=2" in response.content  # escaped in the text, intact once parsed


def test_without_an_entra_app_the_xml_manifest_has_no_single_sign_on(client: Any) -> None:
    root = fromstring(client.get("/addin/manifest.xml").content)
    assert root.find(f".//{{{OR_1_1}}}WebApplicationInfo") is None
    assert root.find(f".//{{{OR_1_1}}}VersionOverrides") is not None
    assert all(url.startswith(client.app.state.crm.settings.base_url) for url in _urls_in(root))


def _validate(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator_class(schema).iter_errors(manifest)]
    assert errors == []


def test_the_unified_manifest_is_valid_against_microsofts_schema(addin_client: Any) -> None:
    response = addin_client.get("/addin/manifest.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    manifest = response.json()
    assert jsonschema.validators.validator_for(json.loads(SCHEMA.read_text())) is jsonschema.Draft4Validator
    _validate(manifest)

    assert manifest["manifestVersion"] == json.loads(SCHEMA.read_text())["properties"]["manifestVersion"]["const"]
    assert manifest["id"] == addin_client.app.state.crm.settings.addin_id
    assert manifest["webApplicationInfo"] == {"id": CLIENT_ID, "resource": f"api://crm.example.com:8443/{CLIENT_ID}"}
    extension = manifest["extensions"][0]
    assert extension["requirements"]["scopes"] == ["mail"]
    assert extension["runtimes"][0]["code"]["page"] == f"{BASE}/addin/taskpane.html"
    assert extension["runtimes"][0]["actions"][0]["pinnable"] is True
    assert set(extension["ribbons"][0]["contexts"]) == {"mailRead", "mailCompose", "meetingDetailsAttendee",
                                                        "meetingDetailsOrganizer"}
    permissions = {p["name"] for p in manifest["authorization"]["permissions"]["resourceSpecific"]}
    assert permissions == {"MailboxItem.ReadWrite.User", "Mailbox.SharedFolder"}
    urls = [v for v in _strings(manifest) if "://" in v and not v.startswith("api://") and v != manifest["$schema"]]
    assert urls and all(url.startswith(BASE) for url in urls), urls


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_package_holds_the_manifest_and_its_two_icons(addin_client: Any) -> None:
    response = addin_client.get("/addin/manifest.zip")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    with zipfile.ZipFile(BytesIO(response.content)) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        assert _png_size(package.read(manifest["icons"]["color"])) == (192, 192)
        outline = package.read(manifest["icons"]["outline"])
    assert _png_size(outline) == (32, 32)
    assert outline[25] == 6  # RGBA: the outline icon is white on a transparent background
    assert manifest == addin_client.get("/addin/manifest.json").json()
    _validate(manifest)


def test_every_icon_the_manifests_name_is_served_and_nothing_else(addin_client: Any) -> None:
    root = fromstring(addin_client.get("/addin/manifest.xml").content)
    icons = {url for url in _urls_in(root) if "/addin/assets/" in url}
    icons |= {url for url in _strings(addin_client.get("/addin/manifest.json").json()) if "/addin/assets/" in url}
    assert len(icons) == 5  # 16, 32, 64, 80 and 128 pixels
    for url in icons:
        name = url.rsplit("/", 1)[1]
        response = addin_client.get(f"/addin/assets/{name}")
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        size = int(name.removeprefix("icon-").removesuffix(".png"))
        assert _png_size(response.content) == (size, size)
    for name in ("manifest_routes.py", "..%2F__init__.py", "icon-17.png", "%2Fetc%2Fpasswd"):
        assert addin_client.get(f"/addin/assets/{name}").status_code == 404


def test_crm_addin_manifest_writes_each_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workers.cli import app

    monkeypatch.setenv("CRM_PUBLIC_URL", BASE)
    monkeypatch.setenv("CRM_ENTRA_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path / "var"))
    runner = CliRunner()

    result = runner.invoke(app, ["addin", "manifest", "--format", "xml"])
    assert result.exit_code == 0, result.output
    root = fromstring(result.stdout_bytes)
    assert root.find(f".//{{{OR_1_1}}}WebApplicationInfo/{{{OR_1_1}}}Id").text == CLIENT_ID

    result = runner.invoke(app, ["addin", "manifest", "--format", "json"])
    assert result.exit_code == 0, result.output
    _validate(json.loads(result.stdout_bytes))

    result = runner.invoke(app, ["addin", "manifest", "--format", "zip"])
    assert result.exit_code == 1 and "--output" in result.output  # never a zip on a terminal

    target = tmp_path / "addin.zip"
    result = runner.invoke(app, ["addin", "manifest", "--format", "zip", "--output", str(target)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(target) as package:
        assert urlsplit(json.loads(package.read("manifest.json"))["extensions"][0]["runtimes"][0]["code"]["page"]
                        ).netloc == "crm.example.com:8443"
