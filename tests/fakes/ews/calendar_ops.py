"""Calendar operations of the fake EWS server: CreateItem, GetItem, UpdateItem and DeleteItem of calendar items
(a series' occurrences by OccurrenceItemId or by their own ids), and FindItem on the calendar folder. The server
routes GetItem, UpdateItem and CreateItem here; a request that concerns no calendar item goes on to items.py as
before.

Meeting mail is faithful to its switches: CreateItem needs SendMeetingInvitations, UpdateItem
SendMeetingInvitationsOrCancellations and DeleteItem SendMeetingCancellations on a calendar item, and any value but
SendToNone sends the attendees mail (recorded in the mailbox's `sent`). UpdateItem checks the ChangeKey under
NeverOverwrite (ErrorIrresolvableConflict); DeleteItem ignores it, as Exchange does."""

import copy
import dataclasses
import secrets
from xml.etree.ElementTree import Element

from tests.fakes.ews import items
from tests.fakes.ews.calendar import Appointment, Fields, Modified, apply, calendar_node, occurrence_of
from tests.fakes.ews.folders import Call, ItemError, resolve_folder
from tests.fakes.ews.mailbox import FakeItem, SentMail, make_id, utcnow
from tests.fakes.ews.shapes import Shape, item_node
from tests.fakes.ews.soap import Node, SoapFault, error, m, operation_response, schema_error, success, t

CONFLICT = ("The send or update operation could not be performed because the change key passed in the request "
            "does not match the current change key for the item.")
OUT_OF_RANGE = "The occurrence index is out of recurrence range."
DELETED = "Occurrence with this index was previously deleted from the recurrence."
END_BEFORE_START = "The end date occurs before the start date."
ID_TAGS = (t("ItemId"), t("OccurrenceItemId"), t("RecurringMasterItemId"))

Target = tuple[FakeItem, int | None]  # the folder item, and the instance index of an occurrence of it


def _find(call: Call, element: Element) -> Target:
    """The item an id element names; ItemError as Exchange answers a bad one."""
    box = call.box
    if element.tag == t("OccurrenceItemId"):
        master = items._item(call, Element(t("ItemId"), Id=element.get("RecurringMasterId", "")))
        return master, _index(master, int(element.get("InstanceIndex", "0")))
    if element.tag == t("RecurringMasterItemId"):
        item, index = _find(call, Element(t("ItemId"), Id=element.get("OccurrenceId", "")))
        if index is None:
            raise ItemError("ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange", OUT_OF_RANGE)
        return item, None
    item_id = element.get("Id", "")
    occurrence = occurrence_of(item_id)
    if occurrence is not None and occurrence[0] in box.items:
        master = box.items[occurrence[0]]
        return master, _index(master, occurrence[1])
    for item in box.items.values():
        appointment = item.appointment
        if appointment is not None:
            for index, modified in appointment.modified.items():
                if modified.id == item_id:
                    return item, index
    return items._item(call, element), None


def _index(master: FakeItem, index: int) -> int:
    appointment = master.appointment
    if appointment is None or appointment.recurrence is None or not 1 <= index <= len(appointment.occurrences()):
        raise ItemError("ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange", OUT_OF_RANGE)
    if index in appointment.deleted:
        raise ItemError("ErrorCalendarOccurrenceIsDeletedFromRecurrence", DELETED)
    return index


def _is_calendar(call: Call, element: Element | None) -> bool:
    if element is None:
        return False
    if element.tag in (t("OccurrenceItemId"), t("RecurringMasterItemId")):
        return True
    try:
        item, index = _find(call, element)
    except ItemError:
        return False
    return item.appointment is not None or index is not None


def _mail(call: Call, switch: str | None, appointment: Appointment, fields: Fields, what: str) -> None:
    """The meeting mail Exchange would send for `switch` (SendToNone: none)."""
    recipients = tuple(a.address for a in fields.required + fields.optional)
    if switch not in (None, "SendToNone") and recipients:
        raw = f"Subject: {what}: {fields.subject}\r\nContent-Class: urn:content-classes:calendarmessage\r\n\r\n"
        call.box.sent.append(SentMail(raw.encode(), recipients))


def _item_id(item: FakeItem, index: int | None) -> str:
    if index is None:
        return item.id
    modified = item.appointment.modified.get(index)
    return modified.id if modified is not None else item.appointment.occurrence_id(item.id, index)


# -- GetItem -------------------------------------------------------------------------------------------------------
def get_item(call: Call) -> bytes:
    ids = call.request.body.find(m("ItemIds"))
    if ids is None or not any(_is_calendar(call, e) for e in ids):
        return items.get_item(call)
    shape = Shape.of(call.request.body.find(m("ItemShape")))
    messages: list[Node] = []
    with call.box.lock:
        for element in ids:
            try:
                item, index = _find(call, element)
            except ItemError as exc:
                messages.append(error("GetItem", exc.code, exc.text, Node("m:Items")))
                continue
            node = item_node(item, shape) if item.appointment is None else calendar_node(
                item, item.appointment, shape, index=index, item_id=_item_id(item, index))
            messages.append(success("GetItem", Node("m:Items").add(node)))
    return operation_response("GetItem", messages)


# -- CreateItem ----------------------------------------------------------------------------------------------------
def create_item(call: Call) -> bytes:
    body = call.request.body
    created = body.find(m("Items"))
    if created is None or not any(e.tag == t("CalendarItem") for e in created):
        return items.create_item(call)
    invitations = body.get("SendMeetingInvitations")
    if invitations not in ("SendToNone", "SendOnlyToAll", "SendToAllAndSaveCopy"):
        raise SoapFault("ErrorSendMeetingInvitationsRequired",
                        "The SendMeetingInvitations attribute is required for calendar items.")
    saved_in = body.find(m("SavedItemFolderId"))
    messages: list[Node] = []
    with call.box.lock:
        for element in created:
            try:
                if element.tag != t("CalendarItem"):
                    raise SoapFault("ErrorInvalidRequest", "the fake creates calendar items or messages, not both")
                folder = resolve_folder(call, saved_in[0]) if saved_in is not None and len(saved_in) else \
                    call.box.distinguished("calendar")
                if element.find(t("Start")) is None or element.find(t("End")) is None:
                    raise schema_error("a calendar item needs Start and End")
                fields = Fields(start=utcnow(), end=utcnow())  # both required, set below
                uid = "040000008200E00074C5B7101A82E008" + secrets.token_hex(24).upper()
                appointment = Appointment(uid, call.box.address, fields)
                apply(element, fields, appointment)
                if fields.end < fields.start:
                    raise ItemError("ErrorCalendarEndDateIsEarlierThanStartDate", END_BEFORE_START)
                item_id = call.box.add_item(folder.id, item_class="IPM.Appointment", subject=fields.subject,
                                            appointment=appointment)
                _mail(call, invitations, appointment, fields, "Invitation")
            except ItemError as exc:
                messages.append(error("CreateItem", exc.code, exc.text, Node("m:Items")))
                continue
            saved = Node("t:CalendarItem").add(Node("t:ItemId", Id=item_id, ChangeKey=call.box.items[item_id]
                                                    .change_key))
            messages.append(success("CreateItem", Node("m:Items").add(saved)))
    return operation_response("CreateItem", messages)


# -- UpdateItem ----------------------------------------------------------------------------------------------------
def _update(call: Call, item: FakeItem, index: int | None, updates: Element) -> None:
    """Applies one ItemChange's updates to a copy of the appointment, then keeps it."""
    appointment = copy.deepcopy(item.appointment)
    if index is None:
        fields = appointment.fields
    else:
        current = appointment.modified.get(index)
        original = appointment.occurrences()[index - 1]
        length = appointment.fields.end - appointment.fields.start
        fields = copy.deepcopy(current.fields) if current else dataclasses.replace(
            copy.deepcopy(appointment.fields), start=original, end=original + length)
    touched: set[str] = set()
    for update in updates:
        kind = update.tag.split("}")[-1]
        path = update.find(t("FieldURI"))
        if path is None:
            raise schema_error(f"{kind} needs a FieldURI")
        name = path.get("FieldURI", "").split(":")[-1]
        if kind == "SetItemField":
            holder = next((c for c in update if c.tag == t("CalendarItem")), None)
            if holder is None or len(holder) != 1 or holder[0].tag.split("}")[-1] != name:
                raise schema_error(f"SetItemField {name} needs a CalendarItem holding {name}")
            touched |= apply(holder, fields, appointment if index is None else None)
        elif kind == "DeleteItemField":
            touched.add(name)
            if name == "Recurrence" and index is None:
                appointment.recurrence = None
            elif name in ("Body", "Location"):
                setattr(fields, name.lower(), "")
            elif name in ("RequiredAttendees", "OptionalAttendees"):
                setattr(fields, "required" if name.startswith("R") else "optional", [])
            else:
                raise ItemError("ErrorInvalidPropertyDelete", "This property can't be deleted.")
        else:
            raise SoapFault("ErrorInvalidRequest", f"the fake EWS server does not implement {kind}")
    if fields.end < fields.start:
        raise ItemError("ErrorCalendarEndDateIsEarlierThanStartDate", END_BEFORE_START)
    if index is not None:
        current = appointment.modified.get(index)
        appointment.modified[index] = Modified(current.id if current else make_id("AAMkE", 108),
                                               appointment.occurrences()[index - 1], fields)
    elif touched & {"Recurrence", "Start", "End"}:
        appointment.modified.clear()  # a new pattern or series time drops the exceptions, as Outlook warns
        appointment.deleted.clear()
    item.appointment = appointment
    item.subject = appointment.fields.subject
    call.box.touch(item.id)


def update_item(call: Call) -> bytes:
    body = call.request.body
    changes = body.find(m("ItemChanges"))
    if changes is None or not any(_is_calendar(call, next((c for c in ch if c.tag in ID_TAGS), None))
                                  for ch in changes):
        return items.update_item(call)
    resolution = body.get("ConflictResolution")
    if resolution not in ("NeverOverwrite", "AutoResolve", "AlwaysOverwrite"):
        raise schema_error("UpdateItem needs ConflictResolution NeverOverwrite, AutoResolve or AlwaysOverwrite")
    switch = body.get("SendMeetingInvitationsOrCancellations")
    if switch not in ("SendToNone", "SendOnlyToAll", "SendOnlyToChanged", "SendToAllAndSaveCopy",
                      "SendToChangedAndSaveCopy"):
        raise SoapFault("ErrorSendMeetingInvitationsOrCancellationsRequired", "The "
                        "SendMeetingInvitationsOrCancellations attribute is required for calendar items.")
    messages: list[Node] = []
    with call.box.lock:
        for change in changes:
            id_element = next((c for c in change if c.tag in ID_TAGS), None)
            try:
                if id_element is None:
                    raise schema_error("an ItemChange needs an item id")
                item, index = _find(call, id_element)
                if item.appointment is None:
                    raise ItemError("ErrorInvalidRequest", "the fake updates calendar items or messages, not both")
                given = id_element.get("ChangeKey")
                if given not in (None, item.change_key) and resolution == "NeverOverwrite":
                    raise ItemError("ErrorIrresolvableConflict", CONFLICT)
                updates = change.find(t("Updates"))
                _update(call, item, index, updates if updates is not None else Element(t("Updates")))
                fields = item.appointment.modified[index].fields if index else item.appointment.fields
                _mail(call, switch, item.appointment, fields, "Updated")
            except ItemError as exc:
                messages.append(error("UpdateItem", exc.code, exc.text, Node("m:Items")))
                continue
            saved = Node("t:CalendarItem").add(Node("t:ItemId", Id=_item_id(item, index), ChangeKey=item.change_key))
            messages.append(success("UpdateItem", Node("m:Items").add(saved),
                                    Node("m:ConflictResults").add(Node("t:Count", "0"))))
    return operation_response("UpdateItem", messages)


# -- DeleteItem ----------------------------------------------------------------------------------------------------
def delete_item(call: Call) -> bytes:
    body = call.request.body
    kind = body.get("DeleteType")
    if kind not in ("HardDelete", "SoftDelete", "MoveToDeletedItems"):
        raise schema_error("DeleteItem needs DeleteType HardDelete, SoftDelete or MoveToDeletedItems")
    ids = body.find(m("ItemIds"))
    if ids is None or len(ids) == 0:
        raise schema_error("DeleteItem needs ItemIds")
    cancellations = body.get("SendMeetingCancellations")
    if any(_is_calendar(call, e) for e in ids) and cancellations not in (
            "SendToNone", "SendOnlyToAll", "SendToAllAndSaveCopy"):
        raise SoapFault("ErrorSendMeetingCancellationsRequired",
                        "The SendMeetingCancellations attribute is required for calendar items.")
    messages: list[Node] = []
    with call.box.lock:
        for element in ids:
            try:
                item, index = _find(call, element)
            except ItemError as exc:
                messages.append(error("DeleteItem", exc.code, exc.text))
                continue
            appointment = item.appointment
            if index is not None:
                appointment.deleted[index] = appointment.occurrences()[index - 1]
                appointment.modified.pop(index, None)
                call.box.touch(item.id)
            elif kind == "HardDelete":
                call.box.delete(item.id)
            else:
                call.box.move(item.id, "deleteditems")
            if appointment is not None:
                _mail(call, cancellations, appointment, appointment.fields, "Canceled")
            messages.append(success("DeleteItem"))
    return operation_response("DeleteItem", messages)


# -- FindItem ------------------------------------------------------------------------------------------------------
def find_item(call: Call) -> bytes:
    """A calendar folder's items without a CalendarView: singles and recurring masters, paged."""
    body = call.request.body
    if body.get("Traversal", "Shallow") != "Shallow":
        raise SoapFault("ErrorInvalidRequest", "the fake EWS server serves Shallow FindItem only")
    for unsupported in ("CalendarView", "Restriction", "QueryString", "GroupBy", "DistinguishedGroupBy"):
        if body.find(m(unsupported)) is not None:
            raise SoapFault("ErrorInvalidRequest", f"the fake EWS server does not implement FindItem {unsupported}")
    shape = Shape.of(body.find(m("ItemShape")))
    view = body.find(m("IndexedPageItemView"))
    offset = int(view.get("Offset", "0")) if view is not None else 0
    limit = int(view.get("MaxEntriesReturned", "0") or 0) if view is not None else 0
    parents = body.find(m("ParentFolderIds"))
    if parents is None or len(parents) == 0:
        raise schema_error("FindItem needs ParentFolderIds")
    messages: list[Node] = []
    with call.box.lock:
        for element in parents:
            try:
                folder = resolve_folder(call, element)
            except ItemError as exc:
                messages.append(error("FindItem", exc.code, exc.text))
                continue
            if folder.distinguished != "calendar":
                raise SoapFault("ErrorInvalidRequest", "the fake EWS server serves FindItem on the calendar only")
            everything = sorted((i for i in call.box.items.values() if i.folder_id == folder.id),
                                key=lambda i: i.created_seq)
            page = everything[offset:offset + limit] if limit else everything[offset:]
            last = offset + len(page) >= len(everything)
            root = Node("m:RootFolder", IndexedPagingOffset=None if last else str(offset + len(page)),
                        TotalItemsInView=str(len(everything)), IncludesLastItemInRange="true" if last else "false")
            root.child("t:Items").add(*(item_node(i, shape) for i in page))
            messages.append(success("FindItem", root))
    return operation_response("FindItem", messages)

