"""Folder operations of the fake EWS server (GetFolder, FindFolder), ConvertId (which exchangelib sends first to
learn the server's version), and what every operation shares: the call's context and how a folder id in a
request (`t:FolderId`, or `t:DistinguishedFolderId` with an optional `t:Mailbox`) becomes a folder, or the error
Exchange gives for it."""

from collections.abc import Mapping
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from tests.fakes.ews.mailbox import DISTINGUISHED, FakeFolder, FakeMailbox
from tests.fakes.ews.shapes import Shape, folder_node
from tests.fakes.ews.soap import Node, Request, SoapFault, error, m, operation_response, schema_error, success, t

NOT_FOUND = "The specified object was not found in the store."
ACCESS_DENIED = "Access is denied. Check credentials and try again."
NO_MAILBOX = "The SMTP address has no mailbox associated with it."


class ItemError(Exception):
    """One request item failed (the others still succeed): its response message gets this code and text."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(f"{code}: {text}")
        self.code, self.text = code, text


@dataclass
class Call:
    box: FakeMailbox  # the mailbox the request acts on (the login's own, or the impersonated one)
    request: Request
    mailboxes: Mapping[str, FakeMailbox]  # every mailbox of the server, by lowercased address

    def owner_of(self, item_or_folder_id: str) -> FakeMailbox | None:
        return next((b for b in self.mailboxes.values() if item_or_folder_id in b.items
                     or item_or_folder_id in b.folders), None)


def resolve_folder(call: Call, element: Element, *, missing: str = "ErrorFolderNotFound") -> FakeFolder:
    if element.tag == t("DistinguishedFolderId"):
        name = element.get("Id", "")
        if name not in DISTINGUISHED:
            raise schema_error(f"the DistinguishedFolderId {name!r} is not a DistinguishedFolderIdNameType")
        address = element.find(f"{t('Mailbox')}/{t('EmailAddress')}")
        box = call.box
        if address is not None and address.text and address.text.strip().lower() != call.box.address.lower():
            other = call.mailboxes.get(address.text.strip().lower())
            if other is None:
                raise ItemError("ErrorNonExistentMailbox", NO_MAILBOX)
            raise ItemError("ErrorAccessDenied", ACCESS_DENIED)  # the fake grants no delegate access
        return box.distinguished(name)
    if element.tag == t("FolderId"):
        folder_id = element.get("Id", "")
        if folder_id in call.box.folders:
            return call.box.folders[folder_id]
        if call.owner_of(folder_id) is not None:
            raise ItemError("ErrorAccessDenied", ACCESS_DENIED)
        if not folder_id.startswith("AQMkA"):
            raise ItemError("ErrorInvalidIdMalformed", "Id is malformed.")
        raise ItemError(missing, "The specified folder could not be found in the store.")
    raise schema_error(f"{element.tag} is not a folder id")


def get_folder(call: Call) -> bytes:
    shape = Shape.of(call.request.body.find(m("FolderShape")))
    ids = call.request.body.find(m("FolderIds"))
    if ids is None or len(ids) == 0:
        raise schema_error("GetFolder needs FolderIds")
    messages: list[Node] = []
    with call.box.lock:
        for element in ids:
            try:
                folder = resolve_folder(call, element)
            except ItemError as exc:
                messages.append(error("GetFolder", exc.code, exc.text, Node("m:Folders")))
                continue
            messages.append(success("GetFolder", Node("m:Folders").add(folder_node(call.box, folder, shape))))
    return operation_response("GetFolder", messages)


def _descendants(box: FakeMailbox, folder: FakeFolder, deep: bool) -> list[FakeFolder]:
    found: list[FakeFolder] = []
    for child in sorted(box.children(folder.id), key=lambda f: f.name.lower()):
        found.append(child)
        if deep:
            found.extend(_descendants(box, child, deep))
    return found


def find_folder(call: Call) -> bytes:
    body = call.request.body
    traversal = body.get("Traversal", "Shallow")
    if traversal not in ("Shallow", "Deep", "SoftDeleted"):
        raise schema_error(f"Traversal {traversal!r}")
    if body.find(m("Restriction")) is not None:
        raise SoapFault("ErrorInvalidRequest", "the fake EWS server does not evaluate FindFolder restrictions")
    shape = Shape.of(body.find(m("FolderShape")))
    view = body.find(m("IndexedPageFolderView"))
    offset = int(view.get("Offset", "0")) if view is not None else 0
    limit = int(view.get("MaxEntriesReturned", "0") or 0) if view is not None else 0
    parents = body.find(m("ParentFolderIds"))
    if parents is None or len(parents) == 0:
        raise schema_error("FindFolder needs ParentFolderIds")
    messages: list[Node] = []
    with call.box.lock:
        for element in parents:
            try:
                parent = resolve_folder(call, element)
            except ItemError as exc:
                messages.append(error("FindFolder", exc.code, exc.text))
                continue
            everything = [] if traversal == "SoftDeleted" else _descendants(call.box, parent, traversal == "Deep")
            page = everything[offset:offset + limit] if limit else everything[offset:]
            last = offset + len(page) >= len(everything)
            root = Node("m:RootFolder", IndexedPagingOffset=None if last else str(offset + len(page)),
                        TotalItemsInView=str(len(everything)), IncludesLastItemInRange="true" if last else "false")
            root.child("t:Folders").add(*(folder_node(call.box, f, shape) for f in page))
            messages.append(success("FindFolder", root))
    return operation_response("FindFolder", messages)


def convert_id(call: Call) -> bytes:
    """EWS ids to EWS ids only (all the fake's ids are EWS ids); anything else is malformed, which is also what
    exchangelib's version probe ("DUMMY") gets back."""
    sources = call.request.body.find(m("SourceIds"))
    messages: list[Node] = []
    for alternate in sources if sources is not None else ():
        found = call.owner_of(alternate.get("Id", ""))
        if found is None or call.request.body.get("DestinationFormat") != "EwsId":
            messages.append(error("ConvertId", "ErrorInvalidIdMalformed", "Id is malformed."))
            continue
        converted = Node("m:AlternateId", Format="EwsId", Id=alternate.get("Id"), Mailbox=found.address,
                         **{"xsi:type": "t:AlternateIdType"})
        messages.append(success("ConvertId", converted))
    return operation_response("ConvertId", messages)
