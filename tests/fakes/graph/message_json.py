"""A fake message as Graph's JSON `message` resource, with the property names and shapes of the documented samples
(message-get ex1, the delta-query rounds, user-post-messages), honouring `$select` (`id` and `@odata.etag` always
present) and `Prefer: outlook.body-content-type`. Also `mailFolder` resources and `$select` parsing."""

import base64
import hashlib
import urllib.parse
from typing import Any

from tests.fakes.graph.mailbox import FakeMailbox, FakeMessage, Folder
from tests.fakes.graph.mime import html_to_text
from tests.fakes.graph.replies import GraphError, iso

MESSAGE_PROPERTIES = (
    "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "receivedDateTime",
    "sentDateTime", "hasAttachments", "internetMessageId", "subject", "bodyPreview", "importance",
    "parentFolderId", "conversationId", "conversationIndex", "isDeliveryReceiptRequested",
    "isReadReceiptRequested", "isRead", "isDraft", "webLink", "inferenceClassification", "body", "sender", "from",
    "toRecipients", "ccRecipients", "bccRecipients", "replyTo", "flag")
# Returned only when asked for by $select, as Graph does.
SELECT_ONLY = ("internetMessageHeaders", "uniqueBody")
FOLDER_PROPERTIES = ("id", "displayName", "parentFolderId", "childFolderCount", "unreadItemCount", "totalItemCount",
                     "isHidden")


def parse_select(value: str | None, allowed: tuple[str, ...], type_name: str) -> list[str] | None:
    """`$select` as canonical property names (Graph matches them case-insensitively); None when absent."""
    if not value:
        return None
    known = {name.lower(): name for name in allowed}
    chosen = []
    for raw in value.split(","):
        name = raw.strip()
        if not name:
            continue
        if name.lower() not in known:
            raise GraphError(400, "RequestBroker--ParseUri",
                             f"Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'.")
        chosen.append(known[name.lower()])
    return chosen


def message_select(value: str | None) -> list[str] | None:
    return parse_select(value, MESSAGE_PROPERTIES + SELECT_ONLY, "message")


def _body(message: FakeMessage, text: bool) -> dict[str, str]:
    parsed = message.parsed
    if parsed.body_html is not None and not text:
        return {"contentType": "html", "content": parsed.body_html}
    if parsed.body_html is not None and not parsed.body_text:
        return {"contentType": "text", "content": html_to_text(parsed.body_html)}
    return {"contentType": "text", "content": parsed.body_text}


def _conversation_index(message: FakeMessage) -> str:
    # Exchange makes a Thread-Index for a message that came without one: 22 bytes, base64.
    return base64.b64encode(hashlib.sha256(message.conversation_id.encode()).digest()[:22]).decode()


def _all_properties(message: FakeMessage, text_body: bool) -> dict[str, Any]:
    parsed = message.parsed
    body = _body(message, text_body)
    preview_source = body["content"] if body["contentType"] == "text" else html_to_text(body["content"])
    return {
        "id": message.id,
        "createdDateTime": iso(message.created),
        "lastModifiedDateTime": iso(message.last_modified),
        "changeKey": message.change_key,
        "categories": list(message.categories),
        "receivedDateTime": iso(message.received),
        "sentDateTime": iso(parsed.sent or message.received),
        "hasAttachments": parsed.has_attachments,
        "internetMessageId": message.internet_message_id,
        "subject": message.subject,
        "bodyPreview": preview_source[:255],
        "importance": parsed.importance,
        "parentFolderId": message.folder,
        "conversationId": message.conversation_id,
        "conversationIndex": parsed.thread_index or _conversation_index(message),
        "isDeliveryReceiptRequested": parsed.delivery_receipt,
        "isReadReceiptRequested": parsed.read_receipt,
        "isRead": message.is_read,
        "isDraft": message.is_draft,
        "webLink": "https://outlook.office365.com/owa/?ItemID=" + urllib.parse.quote(message.id, safe="")
                   + "&exvsurl=1&viewmodel=ReadMessageItem",
        "inferenceClassification": "focused",
        "body": body,
        "sender": parsed.sender.recipient() if parsed.sender else None,
        "from": parsed.from_.recipient() if parsed.from_ else None,
        "toRecipients": [a.recipient() for a in parsed.to],
        "ccRecipients": [a.recipient() for a in parsed.cc],
        "bccRecipients": [a.recipient() for a in parsed.bcc],
        "replyTo": [a.recipient() for a in parsed.reply_to],
        "flag": {"flagStatus": "flagged" if message.flagged else "notFlagged"},
        "internetMessageHeaders": [{"name": k, "value": v} for k, v in parsed.headers],
        "uniqueBody": body,
    }


def render_message(message: FakeMessage, select: list[str] | None, *, text_body: bool = False,
                   odata_type: bool = False) -> dict[str, Any]:
    """The JSON resource; `odata_type` adds "@odata.type" as the delta samples show on each item."""
    properties = _all_properties(message, text_body)
    names = MESSAGE_PROPERTIES if select is None else tuple(select)
    item: dict[str, Any] = {"@odata.type": "#microsoft.graph.message"} if odata_type else {}
    item["@odata.etag"] = f'W/"{message.change_key}"'
    for name in names:
        item[name] = properties[name]
    item["id"] = message.id  # always returned, $select or not
    return item


def removed_item(message_id: str) -> dict[str, Any]:
    """A message gone from the folder (deleted or moved out), in the delta sample's shape."""
    return {"@odata.type": "#microsoft.graph.message", "id": message_id, "@removed": {"reason": "deleted"}}


def render_folder(box: FakeMailbox, folder: Folder, select: list[str] | None) -> dict[str, Any]:
    messages = box.in_folder(folder.id)
    properties = {
        "id": folder.id, "displayName": folder.display_name, "parentFolderId": folder.parent_id or "",
        "childFolderCount": len(box.children(folder.id)),
        "unreadItemCount": sum(1 for m in messages if not m.is_read), "totalItemCount": len(messages),
        "isHidden": folder.is_hidden}
    names = FOLDER_PROPERTIES if select is None else tuple(select)
    item = {name: properties[name] for name in names}
    item["id"] = folder.id
    return item
