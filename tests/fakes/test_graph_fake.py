"""The fake Graph itself: msal gets tokens from it (secret, certificate, refresh token), its answers carry the keys
Microsoft's documented samples show (/work/shared/exchange-samples/graph, named per test), delta paging and
rounds behave as concepts/delta-query-messages.md says, and batch, faults, limits and subscriptions do what a
client will meet on the real service."""

import base64
import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import msal
import pytest
import requests

from tests.fakes.graph import FakeApp, GraphFake, fixtures
from tests.fakes.graph.webhook import WebhookReceiver
from tests.mailbridge.tls import TestCertificate

# The fixtures, bound here as a conftest would import them (assigned, so that arguments may use their names).
graph_certificate = fixtures.graph_certificate
graph_fake = fixtures.graph_fake
webhook_receiver = fixtures.webhook_receiver
USER = "rep@contoso.example"
GRAPH_SCOPE = ["https://graph.microsoft.com/.default"]
# The keys of message-get/ex1-get-message-response.json.
MESSAGE_KEYS = {"@odata.context", "@odata.etag", "id", "createdDateTime", "lastModifiedDateTime", "changeKey",
                "categories", "receivedDateTime", "sentDateTime", "hasAttachments", "internetMessageId", "subject",
                "bodyPreview", "importance", "parentFolderId", "conversationId", "isDeliveryReceiptRequested",
                "isReadReceiptRequested", "isRead", "isDraft", "webLink", "inferenceClassification", "body", "sender",
                "from", "toRecipients", "ccRecipients", "bccRecipients", "replyTo", "flag"}


def mail(subject: str, *, sender: str = "Alice <alice@example.com>", msgid: str | None = None) -> bytes:
    msgid = msgid or f"<{subject.replace(' ', '.')}@example.com>"
    return (f"From: {sender}\r\nTo: {USER}\r\nSubject: {subject}\r\nMessage-ID: {msgid}\r\n"
            f"Date: Mon, 04 Sep 2017 10:00:00 +0000\r\n\r\nHello about {subject}.\r\n").encode()


def msal_session(fake: GraphFake) -> requests.Session:
    session = requests.Session()
    session.verify = fake.ca_file
    session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise override `verify`
    return session


def confidential(fake: GraphFake, app: FakeApp, credential: Any = None) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(app.client_id, client_credential=credential or app.secret,
                                              authority=fake.authority, instance_discovery=False,
                                              http_client=msal_session(fake))


class Graph:
    """A thin httpx client with a bearer token, as the tests' "real client"."""

    def __init__(self, fake: GraphFake, certificate: TestCertificate, token: str) -> None:
        self.fake, self.token = fake, token
        self.http = httpx.Client(verify=certificate.client_context(), timeout=30)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = path if path.startswith("https://") else self.fake.graph_url + path
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.http.request(method, url, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def delta_round(self, url: str, page_size: int = 2) -> tuple[list[dict[str, Any]], str, int]:
        """Follow nextLinks to the deltaLink: (items, deltaLink, pages)."""
        items, pages = [], 0
        while True:
            response = self.get(url, headers={"Prefer": f"odata.maxpagesize={page_size}"})
            assert response.status_code == 200, response.text
            body, pages = response.json(), pages + 1
            items.extend(body["value"])
            if "@odata.deltaLink" in body:
                return items, body["@odata.deltaLink"], pages
            url = body["@odata.nextLink"]


@pytest.fixture
def app(graph_fake: GraphFake) -> FakeApp:
    return graph_fake.register_app(secret="s3cret-value")


@pytest.fixture
def graph(graph_fake: GraphFake, graph_certificate: TestCertificate, app: FakeApp) -> Iterator[Graph]:
    graph_fake.add_mailbox(USER)
    token = confidential(graph_fake, app).acquire_token_for_client(GRAPH_SCOPE)["access_token"]
    client = Graph(graph_fake, graph_certificate, token)
    yield client
    client.http.close()


def inbox_delta(fake: GraphFake) -> str:
    return f"{fake.graph_url}/users/{USER}/mailFolders/inbox/messages/delta"


# -- Entra ID and msal -----------------------------------------------------------------------------------------
def test_msal_gets_an_app_token_with_a_secret(graph_fake: GraphFake, app: FakeApp) -> None:
    result = confidential(graph_fake, app).acquire_token_for_client(GRAPH_SCOPE)
    assert result["token_type"] == "Bearer" and result["expires_in"] == 3599 and result["access_token"]
    assert "refresh_token" not in result


def _rsa_certificate() -> tuple[bytes, bytes, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mailcrm")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem, cert.fingerprint(hashes.SHA1()).hex()  # noqa: S303


def test_msal_gets_an_app_token_with_a_certificate(graph_fake: GraphFake) -> None:
    cert_pem, key_pem, sha1 = _rsa_certificate()
    app = graph_fake.register_app(certificate_pem=cert_pem)
    # RS256 with x5t (a thumbprint given), and PS256 with x5t#S256 (the public certificate given).
    for credential in ({"private_key": key_pem.decode(), "thumbprint": sha1},
                       {"private_key": key_pem.decode(), "public_certificate": cert_pem.decode()}):
        assert "access_token" in confidential(graph_fake, app, credential).acquire_token_for_client(GRAPH_SCOPE)
    _, other_key, other_sha1 = _rsa_certificate()
    refused = confidential(graph_fake, app, {"private_key": other_key.decode(), "thumbprint": other_sha1})
    result = refused.acquire_token_for_client(GRAPH_SCOPE)
    assert result["error"] == "invalid_client" and 700027 in result["error_codes"]


@pytest.mark.filterwarnings("ignore:Change your acquire_token_by_authorization_code")
def test_msal_refreshes_and_redeems_a_code_for_a_user(graph_fake: GraphFake, graph_certificate: TestCertificate,
                                                      app: FakeApp) -> None:
    graph_fake.add_mailbox(USER)
    client = confidential(graph_fake, app)
    refreshed = client.acquire_token_by_refresh_token(graph_fake.grant_delegated(app, USER),
                                                      ["https://graph.microsoft.com/Mail.ReadWrite"])
    assert refreshed["access_token"] and refreshed["refresh_token"]
    me = Graph(graph_fake, graph_certificate, refreshed["access_token"]).get("/me/mailFolders/inbox")
    assert me.status_code == 200 and me.json()["displayName"] == "Inbox"
    on_behalf = client.acquire_token_on_behalf_of(refreshed["access_token"], ["Mail.ReadWrite"])
    assert "access_token" in on_behalf
    code = graph_fake.authorization_code(app, USER)
    assert "access_token" in client.acquire_token_by_authorization_code(code, ["Mail.ReadWrite"])
    again = client.acquire_token_by_authorization_code(code, ["Mail.ReadWrite"])
    assert again["error"] == "invalid_grant" and 54005 in again["error_codes"]
    graph_fake.revoke_delegated(app, USER)
    refused = client.acquire_token_by_refresh_token(refreshed["refresh_token"], ["Mail.ReadWrite"])
    assert refused["error"] == "invalid_grant" and refused["error_description"].startswith("AADSTS65001:")
    assert {"error_codes", "timestamp", "trace_id", "correlation_id"} <= refused.keys()


def test_token_endpoint_errors_are_entra_shaped(graph_fake: GraphFake, graph: Graph, app: FakeApp) -> None:
    wrong = FakeApp(app.client_id, "not-the-secret")
    result = confidential(graph_fake, wrong).acquire_token_for_client(GRAPH_SCOPE)
    assert result["error"] == "invalid_client" and 7000215 in result["error_codes"]
    graph_fake.revoke_admin_consent(app)
    assert 65001 in confidential(graph_fake, app).acquire_token_for_client(GRAPH_SCOPE)["error_codes"]
    refused = graph.get(f"/users/{USER}/mailFolders/inbox")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "ErrorAccessDenied"


def test_graph_authentication_and_mailbox_errors(graph_fake: GraphFake, graph: Graph, app: FakeApp) -> None:
    assert graph.get(f"/users/{USER}/mailFolders/inbox").status_code == 200
    assert graph.get("/users/nobody@contoso.example/messages").json()["error"]["code"] == "ErrorInvalidUser"
    graph_fake.add_mailbox("boss@contoso.example")
    graph_fake.restrict_app(app, [USER])
    blocked = graph.get("/users/boss@contoso.example/messages")
    assert blocked.status_code == 403 and "AccessPolicy" in blocked.json()["error"]["message"]
    assert graph.get("/me/messages").status_code == 400  # /me needs a delegated token
    graph_fake.expire_access_tokens()
    expired = graph.get(f"/users/{USER}/messages")
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "WWW-Authenticate" in expired.headers


# -- folders and messages --------------------------------------------------------------------------------------
def test_folders(graph_fake: GraphFake, graph: Graph) -> None:
    box = graph_fake.mailbox(USER)
    crm = box.create_folder("CRM")
    box.create_folder("Won", parent=crm)
    box.add_message("inbox", mail("one"))
    inbox = graph.get(f"/users/{USER}/mailFolders/Inbox").json()
    assert {"id", "displayName", "parentFolderId", "childFolderCount", "unreadItemCount", "totalItemCount",
            "isHidden"} <= inbox.keys()
    assert inbox["id"] == box.folder_id("inbox") and inbox["unreadItemCount"] == 1
    top = graph.get(f"/users/{USER}/mailFolders", params={"$top": "3"}).json()
    assert len(top["value"]) == 3 and "@odata.nextLink" in top
    rest = graph.get(top["@odata.nextLink"]).json()
    names = {f["displayName"] for f in top["value"] + rest["value"]}
    assert names == {"Inbox", "Sent Items", "Drafts", "Deleted Items", "Archive", "CRM"}
    children = graph.get(f"/users/{USER}/mailFolders('{crm}')/childFolders").json()["value"]
    assert [c["displayName"] for c in children] == ["Won"]
    missing = graph.get(f"/users/{USER}/mailFolders/AQMkADnothere")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ErrorItemNotFound"


def test_message_json_and_mime(graph_fake: GraphFake, graph: Graph) -> None:
    box = graph_fake.mailbox(USER)
    message_id = box.add_message("inbox", mail("Quote for ACME"), categories=["CRM"])
    full = graph.get(f"/users/{USER}/messages/{message_id}").json()
    assert full.keys() >= MESSAGE_KEYS
    assert full["internetMessageId"] == "<Quote.for.ACME@example.com>" and full["categories"] == ["CRM"]
    assert full["from"] == {"emailAddress": {"name": "Alice", "address": "alice@example.com"}}
    assert full["flag"] == {"flagStatus": "notFlagged"} and full["parentFolderId"] == box.folder_id("inbox")
    picked = graph.get(f"/users/{USER}/messages/{message_id}", params={"$select": "subject,isRead"}).json()
    assert set(picked) == {"@odata.context", "@odata.etag", "subject", "isRead", "id"}
    raw = graph.get(f"/users/{USER}/messages/{message_id}/$value")
    assert raw.headers["content-type"] == "text/plain" and raw.content == mail("Quote for ACME")
    bad = graph.get(f"/users/{USER}/messages/{message_id}", params={"$select": "nonsense"})
    assert bad.status_code == 400


def test_patch_changes_read_flag_and_categories(graph_fake: GraphFake, graph: Graph) -> None:
    box = graph_fake.mailbox(USER)
    message_id = box.add_message("inbox", mail("tag me"))
    answer = graph.request("PATCH", f"/users/{USER}/messages/{message_id}",
                           json={"isRead": True, "categories": ["Tracked"], "flag": {"flagStatus": "flagged"}})
    assert answer.status_code == 200 and answer.json()["categories"] == ["Tracked"]
    stored = box.message(message_id)
    assert stored.is_read and stored.flagged and stored.categories == ["Tracked"]


# -- delta -----------------------------------------------------------------------------------------------------
def test_delta_pages_then_reports_changes(graph_fake: GraphFake, graph: Graph) -> None:
    box = graph_fake.mailbox(USER)
    ids = [box.add_message("inbox", mail(f"m{i}")) for i in range(5)]
    first = graph.get(inbox_delta(graph_fake), params={"$select": "subject,isRead"},
                      headers={"Prefer": "odata.maxpagesize=2"})
    assert first.headers["Preference-Applied"] == "odata.maxpagesize=2"
    page = first.json()  # as delta-query-messages/ex1-round1-page1-response.json
    assert set(page) == {"@odata.context", "@odata.nextLink", "value"} and len(page["value"]) == 2
    assert set(page["value"][0]) == {"@odata.type", "@odata.etag", "subject", "isRead", "id"}
    assert page["@odata.nextLink"].startswith(graph_fake.graph_url) and "$skiptoken=" in page["@odata.nextLink"]
    items, delta_link, pages = graph.delta_round(inbox_delta(graph_fake))
    assert pages == 3 and sorted(i["id"] for i in items) == sorted(ids) and "$deltatoken=" in delta_link
    assert graph.delta_round(delta_link)[0] == []

    box.update(ids[0], is_read=True)
    box.delete(ids[1])
    box.move(ids[2], "archive")
    box.add_message("inbox", mail("new"))
    changes, _, _ = graph.delta_round(delta_link, page_size=10)
    removed = {i["id"] for i in changes if "@removed" in i}
    assert removed == {ids[1], ids[2]}
    assert {"@odata.type": "#microsoft.graph.message", "id": ids[1], "@removed": {"reason": "deleted"}} in changes
    assert {i["subject"] for i in changes if "@removed" not in i} == {"m0", "new"}
    archive = f"{graph_fake.graph_url}/users/{USER}/mailFolders/archive/messages/delta"
    assert [i["id"] for i in graph.delta_round(archive)[0]] == [ids[2]]


def test_changes_while_paging_arrive_next_round_and_links_replay(graph_fake: GraphFake, graph: Graph) -> None:
    box = graph_fake.mailbox(USER)
    ids = [box.add_message("inbox", mail(f"m{i}")) for i in range(4)]
    page1 = graph.get(inbox_delta(graph_fake), headers={"Prefer": "odata.maxpagesize=2"}).json()
    box.update(ids[0], flagged=True)  # already sent on page 1
    late = box.add_message("inbox", mail("late"))
    next_link = page1["@odata.nextLink"]
    page2 = graph.get(next_link, headers={"Prefer": "odata.maxpagesize=2"}).json()
    replay = graph.get(next_link, headers={"Prefer": "odata.maxpagesize=2"}).json()
    assert [i["id"] for i in page2["value"]] == [i["id"] for i in replay["value"]] == ids[2:]
    delta_link = page2["@odata.deltaLink"]
    changes = graph.delta_round(delta_link)[0]
    assert {i["id"] for i in changes} == {ids[0], late}
    assert graph.delta_round(delta_link)[0] == changes  # the same deltaLink again (kill and rerun)


def test_delta_filters_by_received_date(graph_fake: GraphFake, graph: Graph) -> None:
    box = graph_fake.mailbox(USER)
    box.add_message("inbox", mail("old"), received=dt.datetime(2019, 5, 1, tzinfo=dt.UTC))
    recent = box.add_message("inbox", mail("recent"))
    url = inbox_delta(graph_fake) + "?$filter=receivedDateTime ge 2020-01-01T00:00:00Z"
    assert [i["id"] for i in graph.delta_round(url)[0]] == [recent]


def test_reset_or_made_up_delta_token_is_gone(graph_fake: GraphFake, graph: Graph) -> None:
    box = graph_fake.mailbox(USER)
    box.add_message("inbox", mail("m"))
    _, delta_link, _ = graph.delta_round(inbox_delta(graph_fake))
    box.reset_delta("inbox")
    gone = graph.get(delta_link)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "syncStateNotFound"
    assert gone.headers["Location"].endswith("/messages/delta")
    assert graph.get(inbox_delta(graph_fake) + "?$deltatoken=made-up").status_code == 410
    assert len(graph.delta_round(inbox_delta(graph_fake))[0]) == 1  # from scratch works again


# -- drafts and sending ----------------------------------------------------------------------------------------
def test_drafts_send_and_send_mail(graph_fake: GraphFake, graph: Graph) -> None:
    box = graph_fake.mailbox(USER)
    draft = graph.post(f"/users/{USER}/messages", json={
        "subject": "Did you see last night's game?", "body": {"contentType": "HTML", "content": "<b>awesome</b>"},
        "toRecipients": [{"emailAddress": {"address": "AdeleV@contoso.example"}}]})
    assert draft.status_code == 201 and draft.json()["isDraft"] is True  # as user-post-messages ex1
    draft_id = draft.json()["id"]
    assert draft.json()["internetMessageId"].endswith(".prod.outlook.com>")
    assert graph.post(f"/users/{USER}/messages/{draft_id}/send").status_code == 202
    assert box.message(draft_id).folder == box.folder_id("sentitems")  # immutable id
    assert [m.id for m in box.sent] == [draft_id]

    json_send = graph.post(f"/users/{USER}/sendMail", json={
        "message": {"subject": "Meet for lunch?", "body": {"contentType": "Text", "content": "Cafeteria."},
                    "toRecipients": [{"emailAddress": {"address": "frannis@contoso.example"}}]},
        "saveToSentItems": "false"})
    assert json_send.status_code == 202 and box.sent[-1].subject == "Meet for lunch?"
    assert len(box.messages("sentitems")) == 1

    raw = mail("MIME send", msgid="<kept@crm.example>")
    mime_send = graph.post(f"/users/{USER}/sendMail", content=base64.b64encode(raw),
                           headers={"Content-Type": "text/plain"})
    assert mime_send.status_code == 202 and box.sent[-1].internet_message_id == "<kept@crm.example>"
    bad = graph.post(f"/users/{USER}/sendMail", content=b"not base64!!", headers={"Content-Type": "text/plain"})
    assert bad.status_code == 400  # as user-sendmail/ex4-mime-error-invalid-base64-response.json
    assert bad.json()["error"]["code"] == "ErrorMimeContentInvalidBase64String"
    assert bad.json()["error"]["message"] == "Invalid base64 string for MIME content."


# -- batch, faults, limits -------------------------------------------------------------------------------------
def test_batch_answers_each_request_on_its_own(graph_fake: GraphFake, graph: Graph) -> None:
    box = graph_fake.mailbox(USER)
    ids = [box.add_message("inbox", mail(f"b{i}")) for i in range(3)]
    graph_fake.throttle(times=1, retry_after=7, match=f"/messages/{ids[1]}/")
    requests_ = [{"id": str(n), "method": "GET", "url": f"/users/{USER}/messages/{i}/$value"}
                 for n, i in enumerate(ids)]
    requests_.append({"id": "p", "method": "PATCH", "url": f"/users/{USER}/messages/{ids[0]}",
                      "headers": {"Content-Type": "application/json"}, "body": {"isRead": True}})
    answer = graph.post("/$batch", json={"requests": requests_})
    assert answer.status_code == 200
    responses = {r["id"]: r for r in answer.json()["responses"]}
    assert set(responses["0"]) == {"id", "status", "headers", "body"}  # as json-batching/batch-response.json
    assert base64.b64decode(responses["0"]["body"]) == mail("b0")
    assert responses["1"]["status"] == 429 and responses["1"]["headers"]["Retry-After"] == "7"
    assert responses["2"]["status"] == 200 and responses["p"]["status"] == 200 and box.message(ids[0]).is_read
    inner = [r for r in graph_fake.requests if r.in_batch]
    assert len(inner) == 4 and all(r.mailbox == USER for r in inner)
    too_many = [{"id": str(n), "method": "GET", "url": f"/users/{USER}/messages"} for n in range(21)]
    assert graph.post("/$batch", json={"requests": too_many}).status_code == 400


def test_injected_throttling_and_failures(graph_fake: GraphFake, graph: Graph) -> None:
    graph_fake.throttle(times=2, retry_after=2)
    first = graph.get(f"/users/{USER}/messages")
    assert first.status_code == 429 and first.headers["Retry-After"] == "2"
    assert first.json()["error"]["code"] == "TooManyRequests"  # as throttling/sample-429-response.json
    assert graph.get(f"/users/{USER}/messages").status_code == 429
    assert graph.get(f"/users/{USER}/messages").status_code == 200
    graph_fake.throttle(retry_after=None)
    assert "Retry-After" not in graph.get(f"/users/{USER}/messages").headers
    graph_fake.fail(times=1, status=503, retry_after=5)
    unavailable = graph.get(f"/users/{USER}/messages")
    assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "5"
    assert [r.status for r in graph_fake.requests[-5:]] == [429, 429, 200, 429, 503]


def test_rate_limit_counts_batched_requests_one_by_one(graph_fake: GraphFake, graph: Graph) -> None:
    graph_fake.rate_limit = (3, 600.0)
    batch = [{"id": str(n), "method": "GET", "url": f"/users/{USER}/mailFolders/inbox"} for n in range(4)]
    statuses = [r["status"] for r in graph.post("/$batch", json={"requests": batch}).json()["responses"]]
    assert statuses == [200, 200, 200, 429]
    refused = graph.get(f"/users/{USER}/messages")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


def test_mailbox_concurrency_limit(graph_fake: GraphFake, graph: Graph) -> None:
    graph_fake.concurrency_limit = 2
    graph_fake.delay = 1.0  # slow replies, so the requests overlap
    barrier, statuses = threading.Barrier(4), []

    def call() -> None:
        barrier.wait()
        statuses.append(graph.get(f"/users/{USER}/mailFolders/inbox").status_code)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert graph_fake.max_in_flight == 2 and statuses.count(429) >= 1 and 200 in statuses
    throttled = [r for r in graph_fake.requests if r.status == 429]
    assert all(r.mailbox == USER for r in throttled)


# -- subscriptions ---------------------------------------------------------------------------------------------
def _expiry(minutes: int) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)).isoformat()


def test_subscription_validates_notifies_and_lifecycles(graph_fake: GraphFake, graph: Graph,
                                                        webhook_receiver: WebhookReceiver) -> None:
    body = {"changeType": "created,updated,deleted", "notificationUrl": webhook_receiver.url,
            "lifecycleNotificationUrl": webhook_receiver.url_for("lifecycle"),
            "resource": f"users/{USER}/mailFolders('inbox')/messages", "expirationDateTime": _expiry(60),
            "clientState": "secretClientValue"}
    created = graph.post("/subscriptions", json=body)
    assert created.status_code == 201, created.text
    # The keys of subscription-post-subscriptions/inbox-created-response.json.
    assert {"@odata.context", "id", "resource", "applicationId", "changeType", "clientState", "notificationUrl",
            "expirationDateTime", "creatorId", "latestSupportedTlsVersion"} <= created.json().keys()
    assert len(webhook_receiver.validations) == 2
    box = graph_fake.mailbox(USER)
    message_id = box.add_message("inbox", mail("notify me"))
    box.add_message("archive", mail("not watched"))
    box.update(message_id, is_read=True)
    assert graph_fake.drain_notifications()
    notes = webhook_receiver.wait_for(2)
    assert [n["changeType"] for n in notes] == ["created", "updated"]
    assert notes[0]["clientState"] == "secretClientValue" and notes[0]["resourceData"]["id"] == message_id
    assert notes[0]["subscriptionId"] == created.json()["id"] and notes[0]["tenantId"] == graph_fake.tenant_id

    subscription_id = created.json()["id"]
    assert graph_fake.lifecycle(subscription_id, "reauthorizationRequired") == 202
    assert webhook_receiver.notifications()[-1]["lifecycleEvent"] == "reauthorizationRequired"
    renewed = graph.request("PATCH", f"/subscriptions/{subscription_id}", json={"expirationDateTime": _expiry(120)})
    assert renewed.status_code == 200
    assert graph.request("DELETE", f"/subscriptions/{subscription_id}").status_code == 204
    assert graph_fake.subscriptions == []


def test_subscription_refused(graph: Graph, webhook_receiver: WebhookReceiver) -> None:
    body = {"changeType": "created", "notificationUrl": webhook_receiver.url,
            "resource": f"users/{USER}/mailFolders('inbox')/messages", "expirationDateTime": _expiry(10081)}
    too_long = graph.post("/subscriptions", json=body)
    assert too_long.status_code == 400 and "10080 minutes" in too_long.json()["error"]["message"]
    webhook_receiver.validate = False
    unvalidated = graph.post("/subscriptions", json={**body, "expirationDateTime": _expiry(60)})
    assert unvalidated.status_code == 400 and "validation" in unvalidated.json()["error"]["message"]
