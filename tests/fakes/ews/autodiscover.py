"""SOAP Autodiscover for the fake Exchange server: `POST /autodiscover/autodiscover.svc` with a GetUserSettings
request, answered as Microsoft's "GetUserSettings operation (SOAP)" shows it (a GetUserSettingsResponseMessage
whose Response holds one UserResponse per user: NoError and the requested settings the server knows, or
InvalidUser for an address it has no mailbox for).

This is the protocol exchangelib (5.x) speaks: its Autodiscovery posts GetUserSettings to
https://<host>/autodiscover/autodiscover.svc and takes the EWS URL from ExternalEwsUrl and the server's version
from EwsSupportedSchemas. (The older POX protocol, /autodiscover/autodiscover.xml, is not used by exchangelib and
is not served.) Authentication is the EWS endpoint's (server.py): exchangelib first posts a dummy request
without credentials to learn the scheme from the 401's WWW-Authenticate headers."""

from collections.abc import Mapping

from defusedxml.ElementTree import fromstring

from tests.fakes.ews.mailbox import FakeMailbox
from tests.fakes.ews.soap import SOAP, SOAP_NAMESPACES, Node

A = "http://schemas.microsoft.com/exchange/2010/Autodiscover"
WSA = "http://www.w3.org/2005/08/addressing"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ACTION = "http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettingsResponse"
# What Exchange Server 2019 reports: its build, and the EWS schemas it accepts (exchangelib picks the newest).
CAS_VERSION = "15.02.1544.004"
EWS_SCHEMAS = (
    "Exchange2007, Exchange2007_SP1, Exchange2010, Exchange2010_SP1, Exchange2010_SP2, Exchange2013, "
    "Exchange2013_SP1, Exchange2015, Exchange2016"
)


def _a(name: str) -> str:
    return f"{{{A}}}{name}"


def get_user_settings(body: bytes, mailboxes: Mapping[str, FakeMailbox], ews_url: str) -> tuple[int, bytes]:
    """The HTTP status and body answering a GetUserSettings request about `mailboxes` (by lower-cased address),
    all of them served at `ews_url`."""
    try:
        root = fromstring(body)
    except Exception:  # defusedxml raises ParseError or its own forbidden-construct errors
        return 400, b""
    namespace = next((ns for ns in SOAP_NAMESPACES if root.tag == f"{{{ns}}}Envelope"), None)
    request = root.find(f"{{{namespace}}}Body/{_a('GetUserSettingsRequestMessage')}/{_a('Request')}")
    if namespace is None or request is None:
        return 400, b""
    users = [(m.text or "").strip() for m in request.iterfind(f"{_a('Users')}/{_a('User')}/{_a('Mailbox')}")]
    wanted = [(s.text or "").strip() for s in request.iterfind(f"{_a('RequestedSettings')}/{_a('Setting')}")]
    responses = Node("UserResponses")
    for user in users:
        box = mailboxes.get(user.lower())
        responses.add(_user_response(user, wanted, None if box is None else user_settings(box, ews_url)))
    message = Node("GetUserSettingsResponseMessage", xmlns=A)
    response = message.child("Response", **{"xmlns:i": XSI})
    response.child("ErrorCode", "NoError")
    response.child("ErrorMessage")
    response.add(responses)
    text = (
        f'<s:Envelope xmlns:s="{SOAP}" xmlns:a="{WSA}"><s:Header>'
        f'<a:Action s:mustUnderstand="1">{ACTION}</a:Action></s:Header>'
        f"<s:Body>{message.render()}</s:Body></s:Envelope>"
    )
    return 200, text.encode()


def _user_response(user: str, wanted: list[str], settings: dict[str, str] | None) -> Node:
    node = Node("UserResponse")
    if settings is None:
        node.child("ErrorCode", "InvalidUser")
        node.child("ErrorMessage", f"Invalid user: '{user}'")
        node.child("RedirectTarget", **{"i:nil": "true"})
        node.child("UserSettingErrors")
        node.child("UserSettings")
        return node
    node.child("ErrorCode", "NoError")
    node.child("ErrorMessage", "No error.")
    node.child("RedirectTarget", **{"i:nil": "true"})
    errors, found = node.child("UserSettingErrors"), node.child("UserSettings")
    for name in wanted:
        if name in settings:
            setting = found.child("UserSetting", **{"i:type": "StringSetting"})
            setting.child("Name", name)
            setting.child("Value", settings[name])
        else:  # as Exchange does for a setting it has no value for: harmless to the client
            error = errors.child("UserSettingError")
            error.child("ErrorCode", "SettingIsNotAvailable")
            error.child("ErrorMessage", f"User setting '{name}' is not available. ")
            error.child("SettingName", name)
    return node


def user_settings(box: FakeMailbox, ews_url: str) -> dict[str, str]:
    """The settings Exchange reports for a mailbox whose EWS endpoint is `ews_url`."""
    return {
        "UserDisplayName": box.address.split("@")[0],
        "AutoDiscoverSMTPAddress": box.address,
        "ExternalEwsUrl": ews_url,
        "InternalEwsUrl": ews_url,
        "CasVersion": CAS_VERSION,
        "EwsSupportedSchemas": EWS_SCHEMAS,
    }
