"""The mailbox endpoints under `/users/{id | userPrincipalName}/...` and `/me/...`: mail folders and their
children, message lists, the delta query, one message as JSON or as MIME (`$value`), PATCH (isRead, flag,
categories), DELETE, move, drafts (JSON, or MIME as base64 in a text/plain body), sending a draft, `sendMail`, and
the mailbox's master category list. Shapes and errors follow the documented samples
(/work/shared/exchange-samples/graph)."""

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from tests.fakes.graph import mime
from tests.fakes.graph.delta import DeltaTokens
from tests.fakes.graph.entra import Principal
from tests.fakes.graph.mailbox import FakeMailbox, FakeMessage, Folder
from tests.fakes.graph.message_json import (
    FOLDER_PROPERTIES,
    message_select,
    parse_select,
    render_folder,
    render_message,
)
from tests.fakes.graph.replies import GraphError, Reply, bad_request, empty_reply, json_reply, not_found_item, utcnow

DEFAULT_PAGE = 10
_PREFER_SIZE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)


@dataclass
class Call:
    """One request to a mailbox, after authentication and mailbox resolution."""

    method: str
    segments: list[str]  # after /users/{id} or /me
    params: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    principal: Principal
    box: FakeMailbox
    user_path: str  # "me" or "users/{id}" as the client wrote it, for the links Graph builds
    graph_url: str

    @property
    def prefer(self) -> str:
        return self.headers.get("prefer", "")

    def text_body(self) -> bool:
        return 'outlook.body-content-type="text"' in self.prefer.replace(" ", "").lower()

    def applied(self, extra: list[str] | None = None) -> dict[str, str]:
        """Preference-Applied for what the fake honours of the request's Prefer header."""
        applied = list(extra or [])
        if self.text_body():
            applied.append('outlook.body-content-type="text"')
        if 'idtype="immutableid"' in self.prefer.replace(" ", "").lower():
            applied.append('IdType="ImmutableId"')
        return {"Preference-Applied": ", ".join(applied)} if applied else {}

    def json_body(self) -> dict[str, Any]:
        return parse_json(self.body)

    def is_mime(self) -> bool:
        return self.headers.get("content-type", "").lower().startswith("text/plain")


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise bad_request("Unable to read JSON request payload. Please ensure Content-Type header is set and payload "
                          "is of valid JSON format.")
    return value


def _decode_mime(body: bytes) -> bytes:
    text = b"".join(body.split())
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not raw:
        raise GraphError(400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")
    return raw


def _folder(call: Call, key: str) -> Folder:
    folder = call.box.find_folder(key)
    if folder is None:
        raise not_found_item()
    return folder


def _message(call: Call, message_id: str) -> FakeMessage:
    message = call.box.get(message_id)
    if message is None:
        raise not_found_item()
    return message


def _page(call: Call, items: list[Any], link: str) -> tuple[list[Any], str | None]:
    top, skip = call.params.get("$top", str(DEFAULT_PAGE)), call.params.get("$skip", "0")
    if not top.isdigit() or not skip.isdigit() or int(top) < 1:
        raise bad_request("Invalid value for $top or $skip.", "ErrorInvalidUrlQuery")
    start, size = int(skip), min(int(top), 1000)
    chunk = items[start:start + size]
    if start + size >= len(items):
        return chunk, None
    extra = "".join(f"&{k}={v}" for k, v in call.params.items() if k not in ("$top", "$skip"))
    return chunk, f"{link}?$top={size}&$skip={start + size}{extra}"


def _entity_context(call: Call, collection: str) -> str:
    return f"{call.graph_url}/$metadata#users('{call.box.user_id}')/{collection}"


def handle(call: Call, delta: DeltaTokens) -> Reply:
    for name in call.params:
        delta_filter = name == "$filter" and [x.lower() for x in call.segments[-1:]] == ["delta"]
        if name.startswith("$") and not delta_filter and name.lower() not in (
                "$select", "$top", "$skip", "$orderby", "$skiptoken", "$deltatoken", "$count"):
            raise bad_request(f"The fake does not implement the query option '{name}'.", "ErrorInvalidUrlQuery")
    s, method = call.segments, call.method
    names = [x.lower() for x in s]
    if names[:1] == ["mailfolders"]:
        if len(s) == 1:
            return _list_folders(call, _folder(call, "msgfolderroot"), "mailFolders")
        folder = _folder(call, s[1])
        rest = names[2:]
        if not rest and method == "GET":
            return json_reply(200, {"@odata.context": _entity_context(call, "mailFolders/$entity"),
                                    **render_folder(call.box, folder, _folder_select(call))})
        if rest == ["childfolders"] and method == "GET":
            return _list_folders(call, folder, f"mailFolders('{folder.id}')/childFolders")
        if rest == ["messages"] and method == "GET":
            return _list_messages(call, call.box.in_folder(folder.id), f"mailFolders('{folder.id}')/messages")
        if rest == ["messages", "delta"] and method == "GET":
            return _delta(call, folder, delta)
        if rest[:1] == ["messages"] and len(s) > 3:
            return _message_routes(call, s[3:])
    elif names[:1] == ["messages"]:
        if len(s) == 1 and method == "GET":
            return _list_messages(call, list(call.box.in_all()), "messages")
        if len(s) == 1 and method == "POST":
            return _create_draft(call)
        if len(s) > 1:
            return _message_routes(call, s[1:])
    elif names == ["sendmail"] and method == "POST":
        return _send_mail(call)
    elif names == ["outlook", "mastercategories"]:
        return _master_categories(call)
    elif s:
        known = {"mailfolders", "messages", "sendmail", "outlook"}
        if names[0] not in known:
            raise bad_request(f"Resource not found for the segment '{s[0]}'.")
    raise GraphError(405, "BadRequest", "Specified HTTP method is not allowed for the request target.")


def _folder_select(call: Call) -> list[str] | None:
    return parse_select(call.params.get("$select"), FOLDER_PROPERTIES, "mailFolder")


def _list_folders(call: Call, parent: Folder, path: str) -> Reply:
    select = _folder_select(call)
    folders = [render_folder(call.box, f, select) for f in call.box.children(parent.id) if not f.is_hidden
               or call.params.get("includeHiddenFolders", "").lower() == "true"]
    chunk, next_link = _page(call, folders, f"{call.graph_url}/{call.user_path}/{path}")
    payload: dict[str, Any] = {"@odata.context": _entity_context(call, "mailFolders")}
    if call.params.get("$count", "").lower() == "true":
        payload["@odata.count"] = len(folders)
    payload["value"] = chunk
    if next_link:
        payload["@odata.nextLink"] = next_link
    return json_reply(200, payload)


def _list_messages(call: Call, messages: list[FakeMessage], path: str) -> Reply:
    order = call.params.get("$orderby", "").lower().split()
    if order and order[0] != "receiveddatetime":
        raise bad_request("The fake orders messages by receivedDateTime only.", "ErrorInvalidUrlQuery")
    messages = sorted(messages, key=lambda m: m.received, reverse=not order or order[-1] == "desc")
    select = message_select(call.params.get("$select"))
    chunk, next_link = _page(call, messages, f"{call.graph_url}/{call.user_path}/{path}")
    payload: dict[str, Any] = {"@odata.context": _entity_context(call, "messages"),
                               "value": [render_message(m, select, text_body=call.text_body()) for m in chunk]}
    if next_link:
        payload["@odata.nextLink"] = next_link
    return json_reply(200, payload, call.applied())


def _delta(call: Call, folder: Folder, delta: DeltaTokens) -> Reply:
    found = _PREFER_SIZE.search(call.prefer)
    size = int(found[1]) if found and int(found[1]) > 0 else None
    link = f"{call.graph_url}/{call.user_path}/mailFolders('{folder.id}')/messages/delta"
    payload = delta.page(call.box, folder.id, call.params, size, link, call.graph_url, call.text_body())
    return json_reply(200, payload, call.applied([f"odata.maxpagesize={size}"] if size else []))


def _message_routes(call: Call, rest: list[str]) -> Reply:
    message = _message(call, rest[0])
    action = [x.lower() for x in rest[1:]]
    method = call.method
    if not action:
        if method == "GET":
            body = render_message(message, message_select(call.params.get("$select")), text_body=call.text_body())
            return json_reply(200, {"@odata.context": _entity_context(call, "messages/$entity"), **body},
                              call.applied())
        if method == "PATCH":
            return _patch(call, message)
        if method == "DELETE":
            call.box.delete(message.id)
            return empty_reply(204)
    elif action == ["$value"] and method == "GET":
        return Reply(200, {"Content-Type": "text/plain"}, message.raw)
    elif action == ["send"] and method == "POST":
        if not message.is_draft:
            raise bad_request("Only a draft can be sent.", "ErrorInvalidOperation")
        _require_recipients(message.parsed)
        call.box.send_draft(message.id)
        return empty_reply(202)
    elif action == ["move"] and method == "POST":
        destination = _folder(call, str(call.json_body().get("destinationId") or ""))
        call.box.move(message.id, destination.id)
        body = render_message(message, None, text_body=call.text_body())
        return json_reply(201, {"@odata.context": _entity_context(call, "messages/$entity"), **body})
    raise GraphError(405, "BadRequest", "Specified HTTP method is not allowed for the request target.")


def _patch(call: Call, message: FakeMessage) -> Reply:
    changes = call.json_body()
    is_read, flagged, categories = None, None, None
    if "isRead" in changes:
        if not isinstance(changes["isRead"], bool):
            raise bad_request("Cannot convert the literal to the expected type 'Edm.Boolean'.")
        is_read = changes["isRead"]
    if "flag" in changes:
        status = str((changes["flag"] or {}).get("flagStatus", "notFlagged"))
        if status not in ("notFlagged", "flagged", "complete"):
            raise bad_request(f"The value '{status}' is not valid for flagStatus.")
        flagged = status == "flagged"
    if "categories" in changes:
        if not isinstance(changes["categories"], list) or not all(isinstance(c, str) for c in changes["categories"]):
            raise bad_request("Cannot convert the value to the expected type 'Collection(Edm.String)'.")
        categories = changes["categories"]
    call.box.update(message.id, is_read=is_read, flagged=flagged, categories=categories)
    body = render_message(message, None, text_body=call.text_body())
    return json_reply(200, {"@odata.context": _entity_context(call, "messages/$entity"), **body})


def _new_raw(call: Call, message: dict[str, Any]) -> bytes:
    return mime.build(message, call.box.address, mime.new_message_id(call.box.message_id_host), utcnow())


def _create_draft(call: Call) -> Reply:
    if call.is_mime():
        raw = _decode_mime(call.body)
        categories: list[str] = []
    else:
        message = call.json_body()
        raw, categories = _new_raw(call, message), list(message.get("categories") or [])
    message_id = call.box.add_message("drafts", raw, is_read=True, categories=categories, is_draft=True)
    body = render_message(_message(call, message_id), None, text_body=call.text_body())
    return json_reply(201, {"@odata.context": _entity_context(call, "messages/$entity"), **body})


def _require_recipients(parsed: mime.ParsedMime) -> None:
    if not (parsed.to or parsed.cc or parsed.bcc):
        raise bad_request("At least one recipient isn't valid., A message can't be sent because it contains no "
                          "recipients.", "ErrorInvalidRecipients")


def _send_mail(call: Call) -> Reply:
    if call.is_mime():
        raw, save = _decode_mime(call.body), True
    else:
        request = call.json_body()
        message = request.get("message")
        if not isinstance(message, dict):
            raise bad_request("At least one recipient isn't valid., A message can't be sent because it contains no "
                              "recipients.", "ErrorInvalidRecipients")
        raw = _new_raw(call, message)
        save = str(request.get("saveToSentItems", True)).lower() != "false"
    parsed = mime.parse(raw)
    _require_recipients(parsed)
    call.box.send_new(raw, save)
    return empty_reply(202)


def _master_categories(call: Call) -> Reply:
    box = call.box
    if call.method == "GET":
        return json_reply(200, {"@odata.context": _entity_context(call, "outlook/masterCategories"),
                                "value": list(box.master_categories)})
    if call.method == "POST":
        body = call.json_body()
        name = str(body.get("displayName") or "")
        if not name:
            raise bad_request("Missing required property 'displayName'.")
        if any(c["displayName"].lower() == name.lower() for c in box.master_categories):
            raise GraphError(409, "nameAlreadyExists", f"A category named '{name}' already exists.")
        category = {"id": str(uuid.uuid4()), "displayName": name,
                    "color": str(body.get("color") or "preset0")}
        box.master_categories.append(category)
        return json_reply(201, {"@odata.context": _entity_context(call, "outlook/masterCategories/$entity"),
                                **category})
    raise GraphError(405, "BadRequest", "Specified HTTP method is not allowed for the request target.")
