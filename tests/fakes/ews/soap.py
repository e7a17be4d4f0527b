"""The SOAP side of the fake EWS server: reading a request envelope (either spelling of the SOAP namespace, as the
samples' README warns) into its operation, its body and the headers EWS looks at, and writing answers the way
Exchange 2013 and later writes them: `s:`/`m:`/`t:` prefixes, a `h:ServerVersionInfo` header, one
`<Operation>ResponseMessage` per request item with its ResponseClass and ResponseCode, and SOAP faults
(schema errors, ErrorServerBusy with BackOffMilliseconds) as HTTP 500, as in
/work/shared/exchange-samples/ews/ and Microsoft's "EWS throttling in Exchange".

XML is written as text by a small `Node` tree, so the prefixes and the order of elements are exactly the ones
chosen here; requests are parsed with defusedxml."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, quoteattr

from defusedxml.ElementTree import fromstring

M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"
SOAP_NAMESPACES = ("http://schemas.xmlsoap.org/soap/envelope/", "https://schemas.xmlsoap.org/soap/envelope/")
SOAP = SOAP_NAMESPACES[0]

# Exchange Server 2019 CU14 (15.2.1544.4). Its schema version string is one exchangelib treats as unusable in a
# request, so it keeps asking with the version it guessed, as it does against a real 2016/2019 server.
SERVER_VERSION = {"MajorVersion": "15", "MinorVersion": "2", "MajorBuildNumber": "1544", "MinorBuildNumber": "4",
                  "Version": "V2017_07_11"}


def m(name: str) -> str:
    return f"{{{M}}}{name}"


def t(name: str) -> str:
    return f"{{{T}}}{name}"


class Node:
    """One element to write: a prefixed tag, attributes, text or children."""

    def __init__(self, tag: str, text: str | None = None, /, **attrs: str | None) -> None:
        self.tag, self.text = tag, text
        self.attrs = {k: v for k, v in attrs.items() if v is not None}
        self.children: list[Node] = []

    def add(self, *children: "Node | None") -> "Node":
        self.children.extend(c for c in children if c is not None)
        return self

    def child(self, tag: str, text: str | None = None, /, **attrs: str | None) -> "Node":
        node = Node(tag, text, **attrs)
        self.children.append(node)
        return node

    def render(self) -> str:
        attrs = "".join(f" {k}={quoteattr(v)}" for k, v in self.attrs.items())
        if self.text is None and not self.children:
            return f"<{self.tag}{attrs} />"
        inner = escape(self.text) if self.text is not None else ""
        return f"<{self.tag}{attrs}>{inner}{''.join(c.render() for c in self.children)}</{self.tag}>"


def envelope(body: Node, *, header: bool = True) -> bytes:
    """A whole response, as Exchange 2013+ frames it."""
    version = ""
    if header:
        attrs = "".join(f' {k}="{v}"' for k, v in SERVER_VERSION.items())
        version = (f'<s:Header><h:ServerVersionInfo{attrs} xmlns:h="{T}" xmlns="{T}" '
                   'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
                   'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" /></s:Header>')
    text = (f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP}">{version}'
            '<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xmlns:xsd="http://www.w3.org/2001/XMLSchema">{body.render()}</s:Body></s:Envelope>')
    return text.encode()


def operation_response(operation: str, messages: Iterable[Node]) -> bytes:
    response = Node(f"m:{operation}Response", **{"xmlns:m": M, "xmlns:t": T})
    response.child("m:ResponseMessages").add(*messages)
    return envelope(response)


def success(operation: str, *content: Node | None) -> Node:
    message = Node(f"m:{operation}ResponseMessage", ResponseClass="Success")
    message.child("m:ResponseCode", "NoError")
    return message.add(*content)


def error(operation: str, code: str, text: str, *content: Node | None) -> Node:
    """A per-item error, as in the samples: MessageText, ResponseCode, DescriptiveLinkKey, then the (empty)
    containers the operation's response message has."""
    message = Node(f"m:{operation}ResponseMessage", ResponseClass="Error")
    message.child("m:MessageText", text)
    message.child("m:ResponseCode", code)
    message.child("m:DescriptiveLinkKey", "0")
    return message.add(*content)


class SoapFault(Exception):
    """A request Exchange refuses as a whole: HTTP 500 with a SOAP fault whose detail names the EWS error."""

    def __init__(self, code: str, text: str, *, values: dict[str, str] | None = None,
                 fault_code: str | None = None) -> None:
        super().__init__(f"{code}: {text}")
        self.code, self.text, self.values = code, text, values or {}
        self.fault_code = fault_code or f"a:{code}"

    def body(self) -> bytes:
        fault = Node("s:Fault")
        namespaced = {"xmlns:a": T} if self.fault_code.startswith("a:") else {}
        fault.child("faultcode", self.fault_code, **namespaced)
        fault.child("faultstring", self.text, **{"xml:lang": "en-US"})
        detail = fault.child("detail")
        detail.child("e:ResponseCode", self.code, **{"xmlns:e": E})
        detail.child("e:Message", self.text, **{"xmlns:e": E})
        if self.values:
            xml = detail.child("t:MessageXml", **{"xmlns:t": T})
            for name, value in self.values.items():
                xml.child("t:Value", value, Name=name)
        # A fault carries no ServerVersionInfo: Exchange answers it before it gets that far.
        return envelope(fault, header=False)


def server_busy(back_off_ms: int | None) -> SoapFault:
    values = {"BackOffMilliseconds": str(back_off_ms)} if back_off_ms is not None else None
    return SoapFault("ErrorServerBusy", "The server cannot service this request right now. Try again later.",
                     values=values)


def schema_error(text: str) -> SoapFault:
    return SoapFault("ErrorSchemaValidation", f"The request failed schema validation: {text}",
                     fault_code="a:ErrorSchemaValidation")


@dataclass
class Request:
    """One parsed EWS request."""

    operation: str
    body: Element
    server_version: str | None = None
    impersonated: str | None = None  # ExchangeImpersonation's PrimarySmtpAddress
    extra: dict[str, str] = field(default_factory=dict)


def parse_request(data: bytes) -> Request:
    """The request's operation and body; a SoapFault for anything that is not an EWS SOAP request."""
    try:
        root = fromstring(data)
    except Exception as exc:  # defusedxml raises ParseError or its own forbidden-construct errors
        raise schema_error(f"the request is not well-formed XML ({exc})") from exc
    namespace = next((ns for ns in SOAP_NAMESPACES if root.tag == f"{{{ns}}}Envelope"), None)
    if namespace is None:
        raise schema_error("the root element is not a SOAP Envelope")
    body = root.find(f"{{{namespace}}}Body")
    if body is None or len(body) == 0:
        raise schema_error("the SOAP Body is missing or empty")
    operation = body[0]
    if not operation.tag.startswith(f"{{{M}}}"):
        raise schema_error(f"{operation.tag} is not in the EWS messages namespace")
    request = Request(operation.tag.split("}", 1)[1], operation)
    header = root.find(f"{{{namespace}}}Header")
    if header is not None:
        version = header.find(t("RequestServerVersion"))
        request.server_version = version.get("Version") if version is not None else None
        address = header.find(f"{t('ExchangeImpersonation')}/{t('ConnectingSID')}/{t('PrimarySmtpAddress')}")
        if address is not None and address.text:
            request.impersonated = address.text.strip()
    return request


def text_of(element: Element | None, default: str = "") -> str:
    return (element.text or default).strip() if element is not None else default
