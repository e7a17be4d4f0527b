"""The fake Exchange server's streaming notifications answer as Microsoft documents them ("Stream notifications about
mailbox events by using EWS in Exchange", the Subscribe and GetStreamingEvents operation references): the
documented streaming requests are posted to it over HTTPS without exchangelib, and the answers have the documented
elements. GetStreamingEvents is one long HTTP response, chunked, carrying one whole SOAP envelope per batch of
events and a last one with ConnectionStatus Closed."""

import threading
from typing import Any

import pytest
import requests

from tests.fakes.ews import EwsFake, FakeMailbox
from tests.fakes.ews import fixtures as ews_fixtures
from tests.mailbridge.test_ews_fake import LOGIN, PASSWORD, body_shape, post, raw

ews, ews_certificate = ews_fixtures.ews, ews_fixtures.ews_certificate  # fixtures: a fresh fake per test

ENVELOPE = (
    '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:m="http://schemas.microsoft.com/exchange/services/'
    '2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" '
    'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><t:RequestServerVersion '
    'Version="Exchange2013" /></soap:Header><soap:Body>{}</soap:Body></soap:Envelope>'
)
# The documented streaming request (how-to-stream-notifications..., Subscribe), with the events the CRM asks for.
SUBSCRIBE = ENVELOPE.format(
    '<m:Subscribe><m:StreamingSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="inbox" />'
    "</t:FolderIds><t:EventTypes><t:EventType>NewMailEvent</t:EventType><t:EventType>CreatedEvent</t:EventType>"
    "<t:EventType>DeletedEvent</t:EventType><t:EventType>ModifiedEvent</t:EventType>"
    "<t:EventType>MovedEvent</t:EventType></t:EventTypes></m:StreamingSubscriptionRequest></m:Subscribe>"
)
STREAM = (
    "<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>{}</t:SubscriptionId></m:SubscriptionIds>"
    "<m:ConnectionTimeout>1</m:ConnectionTimeout></m:GetStreamingEvents>"
)
RESPONSE = "/m:GetStreamingEventsResponse/m:ResponseMessages/m:GetStreamingEventsResponseMessage"
# The documented answers' elements (the samples' own framing is broken, their elements are not).
SUBSCRIBED = {
    "/m:SubscribeResponse",
    "/m:SubscribeResponse/m:ResponseMessages",
    "/m:SubscribeResponse/m:ResponseMessages/m:SubscribeResponseMessage",
    "/m:SubscribeResponse/m:ResponseMessages/m:SubscribeResponseMessage/m:ResponseCode",
    "/m:SubscribeResponse/m:ResponseMessages/m:SubscribeResponseMessage/m:SubscriptionId",
}
NOTIFIED = {
    f"{RESPONSE}/m:ResponseCode",
    f"{RESPONSE}/m:Notifications/m:Notification/t:SubscriptionId",
    *(
        f"{RESPONSE}/m:Notifications/m:Notification/t:{event}/t:{part}"
        for event in ("CreatedEvent", "NewMailEvent")
        for part in ("TimeStamp", "ItemId", "ParentFolderId")
    ),
    f"{RESPONSE}/m:ConnectionStatus",
}


@pytest.fixture
def box(ews: EwsFake) -> FakeMailbox:
    ews.subscriptions.minute = 0.5
    return ews.add_mailbox("sadie@contoso.com", username=LOGIN, password=PASSWORD)


def subscribe(fake: EwsFake) -> str:
    answer = post(fake, SUBSCRIBE.encode())
    assert answer.status_code == 200 and body_shape(answer.content) == SUBSCRIBED
    return answer.text.split("<m:SubscriptionId>")[1].split("<")[0]


def envelopes(answer: Any) -> list[bytes]:
    """The SOAP envelopes of a streamed answer, in order."""
    text = b"".join(answer.iter_content(None))
    return [b"<?xml" + part for part in text.split(b"<?xml") if part.strip()]


def test_a_delivery_is_streamed_as_created_and_new_mail_then_the_connection_closes(
    ews: EwsFake, box: FakeMailbox
) -> None:
    subscription = subscribe(ews)
    threading.Timer(0.1, lambda: box.add_message("inbox", raw("streamed"))).start()

    with requests.post(
        ews.url,
        data=ENVELOPE.format(STREAM.format(subscription)).encode(),
        auth=(LOGIN, PASSWORD),
        verify=ews.ca_file,
        timeout=10,
        stream=True,
    ) as answer:
        assert answer.status_code == 200 and answer.headers["Transfer-Encoding"] == "chunked"
        events, closed = envelopes(answer)

    assert body_shape(events) >= NOTIFIED
    assert b"<m:ConnectionStatus>OK</m:ConnectionStatus>" in events
    assert b"<m:ConnectionStatus>Closed</m:ConnectionStatus>" in closed and b"Notification" not in closed


def test_events_wait_for_the_next_connection_and_only_subscribed_folders_count(ews: EwsFake, box: FakeMailbox) -> None:
    subscription = subscribe(ews)
    box.add_message("sentitems", raw("not watched"))
    box.add_message("inbox", raw("kept meanwhile"))

    with requests.post(
        ews.url,
        data=ENVELOPE.format(STREAM.format(subscription)).encode(),
        auth=(LOGIN, PASSWORD),
        verify=ews.ca_file,
        timeout=10,
        stream=True,
    ) as answer:
        events, _closed = envelopes(answer)

    assert events.count(b"<t:CreatedEvent>") == 1 and events.count(b"<t:NewMailEvent>") == 1


def test_an_unknown_subscription_is_not_found_and_closed(ews: EwsFake, box: FakeMailbox) -> None:
    subscription = subscribe(ews)
    ews.lose_subscriptions()

    answer = post(ews, ENVELOPE.format(STREAM.format(subscription)).encode())

    assert answer.status_code == 200
    assert b'ResponseClass="Error"' in answer.content
    assert b"<m:ResponseCode>ErrorSubscriptionNotFound</m:ResponseCode>" in answer.content
    assert b"<m:ConnectionStatus>Closed</m:ConnectionStatus>" in answer.content


def test_a_server_without_streaming_refuses_the_subscription(ews: EwsFake, box: FakeMailbox) -> None:
    ews.refuse_streaming("ErrorInvalidRequest")

    answer = post(ews, SUBSCRIBE.encode())

    assert b'ResponseClass="Error"' in answer.content and b"ErrorInvalidRequest" in answer.content
