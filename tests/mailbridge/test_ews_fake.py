"""The fake Exchange server answers as Microsoft documents EWS: Microsoft's own sample requests
(tests/data/ews, as the docs print them, the https typo in the SOAP namespace included) are
posted to it over HTTPS, and each answer has the elements, in the namespaces, of the documented sample answer;
ErrorServerBusy, which has no sample, has the shape the throttling article describes."""

from pathlib import Path
from typing import Any

import pytest
import requests
from defusedxml.ElementTree import fromstring

from tests.fakes.ews import EwsFake, FakeMailbox
from tests.fakes.ews.fixtures import ews, ews_certificate  # noqa: F401  (fixtures)

# The samples this test answers, copied from Microsoft's docs with their provenance (tests/data/ews/README.md).
SAMPLES = Path(__file__).resolve().parent.parent / "data" / "ews"
PREFIXES = {"http://schemas.microsoft.com/exchange/services/2006/messages": "m",
            "http://schemas.microsoft.com/exchange/services/2006/types": "t",
            "http://schemas.microsoft.com/exchange/services/2006/errors": "e",
            "http://schemas.xmlsoap.org/soap/envelope/": "s", "https://schemas.xmlsoap.org/soap/envelope/": "s"}
LOGIN, PASSWORD = "CONTOSO\\sadie", "Passw0rd!"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def _name(tag: str) -> str:
    namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    return f"{PREFIXES.get(namespace, namespace)}:{local}" if namespace else local


def body_shape(xml: bytes) -> set[str]:
    """Every element path under the SOAP Body, by namespace prefix and local name."""
    root = fromstring(xml)
    body = next(child for child in root if _name(child.tag) == "s:Body")
    paths: set[str] = set()

    def walk(element: Any, above: str) -> None:
        path = f"{above}/{_name(element.tag)}"
        paths.add(path)
        for child in element:
            walk(child, path)

    for child in body:
        walk(child, "")
    return paths


@pytest.fixture
def box(ews: EwsFake) -> FakeMailbox:  # noqa: F811
    return ews.add_mailbox("sadie@contoso.com", username=LOGIN, password=PASSWORD)


def post(fake: EwsFake, body: bytes) -> requests.Response:
    return requests.post(fake.url, data=body, auth=(LOGIN, PASSWORD), verify=fake.ca_file, timeout=10,
                         headers={"Content-Type": "text/xml; charset=utf-8"})


def raw(subject: str) -> bytes:
    return (f"From: ann@contoso.com\r\nTo: sadie@contoso.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@contoso.com>\r\n\r\nHello.\r\n").encode()


@pytest.mark.parametrize(("request_file", "answer_file"), [
    ("SyncFolderItems/initial-sync-request.xml", "SyncFolderItems/initial-sync-response.xml"),
    ("SyncFolderItems/incremental-sync-request.xml", "SyncFolderItems/ref-error-invalidsyncstatedata-response.xml"),
    ("GetFolder/folder-request.xml", "GetFolder/folder-response.xml"),
    ("GetFolder/ref-request.xml", "GetFolder/ref-response.xml"),
    ("FindFolder/ref-request.xml", "FindFolder/ref-response.xml"),
    ("CreateItem/message-sendandsavecopy-request.xml", "CreateItem/message-ref-response.xml"),
])
def test_a_documented_request_gets_the_documented_answer(ews: EwsFake, box: FakeMailbox,  # noqa: F811
                                                         request_file: str, answer_file: str) -> None:
    for i in range(5):
        box.add_message("inbox", raw(f"m{i}"))
    box.create_folder("TestFolder", parent="inbox")

    answer = post(ews, sample(request_file))

    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/xml")
    assert body_shape(answer.content) == body_shape(sample(answer_file))
    assert b"ServerVersionInfo" in answer.content


def test_getitem_answers_the_bind_sample_with_the_subject(ews: EwsFake, box: FakeMailbox) -> None:  # noqa: F811
    item_id = box.add_message("inbox", raw("Company Soccer Team"))
    request = sample("GetItem/message-bind-request.xml").replace(b'Id="GJc/NAAA="', f'Id="{item_id}"'.encode())

    answer = post(ews, request)

    assert body_shape(answer.content) == body_shape(sample("GetItem/message-bind-response.xml"))
    assert b"<t:Subject>Company Soccer Team</t:Subject>" in answer.content


def test_the_sent_sample_is_sent_and_saved(ews: EwsFake, box: FakeMailbox) -> None:  # noqa: F811
    post(ews, sample("CreateItem/message-sendandsavecopy-request.xml"))

    assert [s.recipients for s in box.sent] == [("sadie@contoso.com",)]
    assert [m.subject for m in box.messages("sentitems")] == ["Company Soccer Team"]


def test_a_throttled_request_is_a_fault_with_its_back_off(ews: EwsFake, box: FakeMailbox) -> None:  # noqa: F811
    ews.busy(times=1, back_off_ms=297_749)

    answer = post(ews, sample("GetFolder/folder-request.xml"))

    assert answer.status_code == 500
    assert body_shape(answer.content) == {
        "/s:Fault", "/s:Fault/faultcode", "/s:Fault/faultstring", "/s:Fault/detail", "/s:Fault/detail/e:ResponseCode",
        "/s:Fault/detail/e:Message", "/s:Fault/detail/t:MessageXml", "/s:Fault/detail/t:MessageXml/t:Value"}
    assert b'<t:Value Name="BackOffMilliseconds">297749</t:Value>' in answer.content
    assert b">a:ErrorServerBusy</faultcode>" in answer.content
    assert post(ews, sample("GetFolder/folder-request.xml")).status_code == 200  # once only


def test_no_login_no_answer_and_ews_blocked_is_a_bare_403(ews: EwsFake, box: FakeMailbox) -> None:  # noqa: F811
    anonymous = requests.post(ews.url, data=sample("GetFolder/folder-request.xml"), verify=ews.ca_file, timeout=10)
    assert anonymous.status_code == 401
    assert {"NTLM", "Negotiate"} <= {c.strip().split(" ")[0] for c in anonymous.headers["WWW-Authenticate"].split(",")}
    ews.disable_ews("sadie@contoso.com")
    blocked = post(ews, sample("GetFolder/folder-request.xml"))
    assert (blocked.status_code, blocked.content) == (403, b"")
