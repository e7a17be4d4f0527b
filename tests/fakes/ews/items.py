"""Item operations of the fake EWS server: SyncFolderItems (changes since a sync state, at most
MaxChangesReturned, 1 to 512), GetItem (any shape, MimeContent included), UpdateItem (categories, read state,
follow-up flag, the two MAPI tags shapes.py knows) and CreateItem (save a draft, or send with or without a copy
in Sent Items, from MimeContent or from Subject/Body/recipients as the samples do).

Answers follow the documented samples: per item a ResponseMessage; ErrorInvalidSyncStateData with an empty
SyncState; ErrorItemNotFound; ErrorSendAsDenied when the MIME's From is not the mailbox."""

import base64
import binascii
import email.utils
from email.parser import BytesHeaderParser
from xml.etree.ElementTree import Element

from tests.fakes.ews.folders import ACCESS_DENIED, NOT_FOUND, Call, ItemError, resolve_folder
from tests.fakes.ews.mailbox import FakeItem, SentMail
from tests.fakes.ews.shapes import FLAG_STATUS, LAST_VERB, Shape, item_node
from tests.fakes.ews.soap import Node, SoapFault, error, m, operation_response, schema_error, success, t, text_of

MAX_CHANGES = 512
INVALID_STATE = "Synchronization state data is corrupt or otherwise invalid."
SEND_AS_DENIED = ("The user account which was used to submit this request does not have the right to send mail on "
                  "behalf of the specified sending account.")


def sync_folder_items(call: Call) -> bytes:
    body = call.request.body
    shape = Shape.of(body.find(m("ItemShape")))
    folder_id = body.find(m("SyncFolderId"))
    if folder_id is None or len(folder_id) != 1:
        raise schema_error("SyncFolderItems needs one SyncFolderId")
    try:
        limit = int(text_of(body.find(m("MaxChangesReturned"))))
    except ValueError:
        raise schema_error("MaxChangesReturned must be an integer") from None
    if not 1 <= limit <= MAX_CHANGES:
        raise schema_error(f"MaxChangesReturned {limit} is outside 1..{MAX_CHANGES}")
    scope = text_of(body.find(m("SyncScope")), "NormalItems")
    if scope not in ("NormalItems", "NormalAndAssociatedItems"):
        raise schema_error(f"SyncScope {scope!r}")
    ignore = body.find(m("Ignore"))
    ignored = {i.get("Id") for i in ignore} if ignore is not None else set()
    with call.box.lock:
        try:
            folder = resolve_folder(call, folder_id[0], missing="ErrorSyncFolderNotFound")
        except ItemError as exc:
            return operation_response("SyncFolderItems", [error("SyncFolderItems", exc.code, exc.text)])
        state = text_of(body.find(m("SyncState")))
        watermark = call.box.watermark(folder, state) if state else 0
        if watermark is None:
            refused = error("SyncFolderItems", "ErrorInvalidSyncStateData", INVALID_STATE, Node("m:SyncState"),
                            Node("m:IncludesLastItemInRange", "true"))
            return operation_response("SyncFolderItems", [refused])
        changes, watermark, complete = call.box.changes(folder, watermark, limit)
        listed = Node("m:Changes")
        for change in changes:
            if change.item_id in ignored:
                continue
            if change.kind == "Delete":
                listed.child("t:Delete").child("t:ItemId", Id=change.item_id)
            elif change.kind == "ReadFlagChange" and change.item is not None:
                read = listed.child("t:ReadFlagChange")
                read.child("t:ItemId", Id=change.item.id, ChangeKey=change.item.change_key)
                read.child("t:IsRead", "true" if change.item.is_read else "false")
            elif change.item is not None:
                listed.child(f"t:{change.kind}").add(item_node(change.item, shape))
        answer = success("SyncFolderItems", Node("m:SyncState", call.box.state_of(folder, watermark)),
                         Node("m:IncludesLastItemInRange", "true" if complete else "false"), listed)
    return operation_response("SyncFolderItems", [answer])


def _item(call: Call, element: Element | None) -> FakeItem:
    item_id = element.get("Id", "") if element is not None else ""
    if item_id in call.box.items:
        return call.box.items[item_id]
    if call.owner_of(item_id) is not None:
        raise ItemError("ErrorAccessDenied", ACCESS_DENIED)
    try:
        base64.b64decode(item_id, validate=True)
    except (binascii.Error, ValueError):
        raise ItemError("ErrorInvalidIdMalformed", "Id is malformed.") from None
    raise ItemError("ErrorItemNotFound", NOT_FOUND)


def get_item(call: Call) -> bytes:
    shape = Shape.of(call.request.body.find(m("ItemShape")))
    ids = call.request.body.find(m("ItemIds"))
    if ids is None or len(ids) == 0:
        raise schema_error("GetItem needs ItemIds")
    messages: list[Node] = []
    with call.box.lock:
        for element in ids:
            try:
                item = _item(call, element)
            except ItemError as exc:
                messages.append(error("GetItem", exc.code, exc.text, Node("m:Items")))
                continue
            messages.append(success("GetItem", Node("m:Items").add(item_node(item, shape))))
    return operation_response("GetItem", messages)


def _update_values(update: Element) -> dict[str, object]:
    """What one SetItemField/DeleteItemField changes, as keywords of FakeMailbox.update."""
    kind = update.tag.split("}", 1)[1]
    delete = kind == "DeleteItemField"
    if kind not in ("SetItemField", "DeleteItemField"):
        raise SoapFault("ErrorInvalidRequest", f"the fake EWS server does not implement {kind}")
    path = next((c for c in update if c.tag in (t("FieldURI"), t("ExtendedFieldURI"))), None)
    holder = next((c for c in update if c.tag not in (t("FieldURI"), t("ExtendedFieldURI"))), None)
    if path is None or (holder is None and not delete):
        raise schema_error(f"{kind} needs a property path and, to set it, an item holding the value")
    if path.tag == t("ExtendedFieldURI"):
        tag = int(path.get("PropertyTag", "0"), 0)
        value = None if delete else text_of(holder.find(f"{t('ExtendedProperty')}/{t('Value')}"))
        if tag == LAST_VERB:
            return {"answered": value is not None and int(value) in (102, 103)}
        if tag == FLAG_STATUS:
            return {"flagged": value is not None and int(value) == 2}
        raise SoapFault("ErrorInvalidRequest", f"the fake EWS server cannot update property tag 0x{tag:x}")
    field_uri = path.get("FieldURI")
    if field_uri == "item:Categories":
        return {"categories": [] if delete else [text_of(s) for s in holder.iter(t("String"))]}
    if field_uri == "message:IsRead":
        return {"is_read": not delete and text_of(holder.find(t("IsRead"))) == "true"}
    if field_uri == "item:Flag":
        return {"flagged": not delete and text_of(holder.find(f"{t('Flag')}/{t('FlagStatus')}")) == "Flagged"}
    raise SoapFault("ErrorInvalidRequest", f"the fake EWS server cannot update {field_uri}")


def update_item(call: Call) -> bytes:
    body = call.request.body
    resolution = body.get("ConflictResolution")
    if resolution not in ("NeverOverwrite", "AutoResolve", "AlwaysOverwrite"):
        raise schema_error("UpdateItem needs ConflictResolution NeverOverwrite, AutoResolve or AlwaysOverwrite")
    changes = body.find(m("ItemChanges"))
    messages: list[Node] = []
    with call.box.lock:
        for change in changes if changes is not None else ():
            try:
                item = _item(call, change.find(t("ItemId")))
                stale = change.find(t("ItemId")).get("ChangeKey") not in (None, item.change_key)
                if not body.get("MessageDisposition"):
                    raise ItemError("ErrorMessageDispositionRequired",
                                    "MessageDisposition attribute is required for update operations on message.")
                if stale and resolution == "NeverOverwrite":
                    raise ItemError("ErrorIrresolvableConflict", "The send or update operation could not be "
                                    "performed because the change key passed in the request does not match the "
                                    "current change key for the item.")
                updates = change.find(t("Updates"))
                values: dict[str, object] = {}
                for update in updates if updates is not None else ():
                    values.update(_update_values(update))
                call.box.update(item.id, **values)  # type: ignore[arg-type]
            except ItemError as exc:
                messages.append(error("UpdateItem", exc.code, exc.text, Node("m:Items")))
                continue
            saved = Node("m:Items").add(Node("t:Message").add(Node("t:ItemId", Id=item.id,
                                                                    ChangeKey=item.change_key)))
            conflicts = Node("m:ConflictResults").add(Node("t:Count", "0"))
            messages.append(success("UpdateItem", saved, conflicts))
    return operation_response("UpdateItem", messages)


def _mime_of(message: Element) -> bytes:
    """The message's MIME: its MimeContent, or one written from Subject, Body and recipients."""
    mime = message.find(t("MimeContent"))
    if mime is not None:
        try:
            return base64.b64decode(text_of(mime), validate=True)
        except (binascii.Error, ValueError):
            raise ItemError("ErrorMimeContentInvalidBase64String", "MIME content is not a valid base64 "
                            "string.") from None
    to = ", ".join(text_of(a) for a in message.iter(t("EmailAddress")))
    subject = text_of(message.find(t("Subject")))
    text = text_of(message.find(t("Body")))
    return (f"To: {to}\r\nSubject: {subject}\r\nMessage-ID: {email.utils.make_msgid()}\r\n"
            f"Date: {email.utils.formatdate()}\r\n\r\n{text}\r\n").encode()


def _recipients(raw: bytes, message: Element) -> list[str]:
    headers = BytesHeaderParser().parsebytes(raw)
    values = [str(v) for h in ("To", "Cc", "Bcc") for v in headers.get_all(h, [])]
    found = [a for _, a in email.utils.getaddresses(values) if a]
    for kind in ("ToRecipients", "CcRecipients", "BccRecipients"):
        found.extend(text_of(a) for a in message.iterfind(f"{t(kind)}/{t('Mailbox')}/{t('EmailAddress')}"))
    return list(dict.fromkeys(found))


def create_item(call: Call) -> bytes:
    body = call.request.body
    disposition = body.get("MessageDisposition")
    if disposition not in ("SaveOnly", "SendOnly", "SendAndSaveCopy"):
        raise SoapFault("ErrorMessageDispositionRequired",
                        "MessageDisposition attribute is required for message items.")
    saved_in = body.find(m("SavedItemFolderId"))
    items = body.find(m("Items"))
    messages: list[Node] = []
    with call.box.lock:
        for message in items if items is not None else ():
            try:
                if message.tag != t("Message"):
                    raise SoapFault("ErrorInvalidRequest", "the fake EWS server creates Message items only")
                raw = _mime_of(message)
                default = "drafts" if disposition == "SaveOnly" else "sentitems"
                folder = resolve_folder(call, saved_in[0]) if saved_in is not None and len(saved_in) else \
                    call.box.distinguished(default)
                if disposition == "SaveOnly":
                    item_id = call.box.add_message(folder.id, raw, is_read=True)
                    created = Node("t:Message").add(Node("t:ItemId", Id=item_id,
                                                         ChangeKey=call.box.items[item_id].change_key))
                    messages.append(success("CreateItem", Node("m:Items").add(created)))
                    continue
                senders = email.utils.getaddresses([str(BytesHeaderParser().parsebytes(raw).get("From", ""))])
                if any(a and a.lower() != call.box.address.lower() for _, a in senders):
                    raise ItemError("ErrorSendAsDenied", SEND_AS_DENIED)
                recipients = _recipients(raw, message)
                if not recipients:
                    raise ItemError("ErrorInvalidRecipients", "At least one recipient is required, but none were "
                                    "found.")
                call.box.sent.append(SentMail(raw, tuple(recipients)))
                if disposition == "SendAndSaveCopy":
                    call.box.add_message(folder.id, raw, is_read=True)
                for address in recipients:  # delivered to the server's own mailboxes
                    local = call.mailboxes.get(address.lower())
                    if local is not None:
                        local.add_message("inbox", raw)
            except ItemError as exc:
                messages.append(error("CreateItem", exc.code, exc.text, Node("m:Items")))
                continue
            messages.append(success("CreateItem", Node("m:Items")))
    return operation_response("CreateItem", messages)
