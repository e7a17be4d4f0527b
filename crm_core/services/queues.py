"""Queues and their items (DOMAIN.md §9): AddToQueue (one queue per record: adding moves), PickFromQueue,
ReleaseToQueue and RemoveFromQueue.

Who sees what: a queue is read like any user-owned record (every default role reads them all); the items of
a private queue are seen and worked by its members only. An item is listed only if the caller may also read
the record it carries. Routing and closing a case place and remove items as the organisation, through
`place` and `remove_item`, which check nothing and never commit."""

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session

from crm_core import case_states
from crm_core.activity_catalogue import kind_of
from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.email_addresses import normalize_field
from crm_core.entities import entity
from crm_core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from crm_core.models import Activity, Case, Queue, QueueItem, RoutingRuleItem, User
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Depth, Privilege
from crm_core.services import listing
from crm_core.services.records import RecordService

_NO_SUBJECT = "(no subject)"


def place(session: Session, queue: Queue, record: Case | Activity) -> tuple[QueueItem, bool]:
    """Puts the record in `queue`, moving it from the queue it is in (whose worker it leaves behind).
    Returns the item and whether anything changed. No access checks, no commit."""
    column = QueueItem.case_id if isinstance(record, Case) else QueueItem.activity_id
    item = session.scalars(select(QueueItem).where(column == record.id)).one_or_none()
    if item is not None and item.queue_id == queue.id:
        return item, False
    if item is None:
        item = QueueItem(id=uuid.uuid4(), queue_id=queue.id, title=_title(record))
        if isinstance(record, Case):
            item.case_id = record.id
        else:
            item.activity_id = record.id
        session.add(item)
    item.queue_id, item.entered_on, item.worker_id, item.worked_on = queue.id, utcnow(), None, None
    session.flush()
    if isinstance(record, Case):
        session.expire(record, ["queue_item"])
    return item, True


def remove_item(session: Session, record: Case | Activity) -> None:
    """Takes the record out of its queue, if it is in one (closing a case does this). No flush, so that the
    caller's next flush (and its audit entry) carries it with the rest of the change; no commit."""
    column = QueueItem.case_id if isinstance(record, Case) else QueueItem.activity_id
    for item in session.scalars(select(QueueItem).where(column == record.id)):
        session.delete(item)
    if isinstance(record, Case):
        session.expire(record, ["queue_item"])


def _title(record: Case | Activity) -> str:
    return (record.title if isinstance(record, Case) else record.subject) or _NO_SUBJECT


def is_member(principal: Principal, queue: Queue) -> bool:
    return principal.is_system or principal.user_id in queue.member_ids


class QueueService(RecordService[Queue]):
    entity_name = "queue"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def apply(self, record: Queue, values: dict[str, Any], creating: bool) -> None:
        values = dict(values)
        member_ids = values.pop("member_ids", None)
        super().apply(record, values, creating)
        if member_ids is not None:
            self._set_members(record, member_ids)

    def validate(self, record: Queue, values: dict[str, Any], creating: bool) -> None:
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "a queue needs a name")
        if record.queue_view_type is None:
            record.queue_view_type = case_states.PUBLIC
        if record.queue_view_type not in case_states.QUEUE_VIEW_TYPE:
            raise ValidationFailed.field("queue_view_type", "0 Public or 1 Private")
        if "email_address" in values:
            record.email_address = normalize_field("email_address", values["email_address"])
            taken = record.email_address and self.session.scalar(
                select(Queue.id).where(Queue.email_address == record.email_address, Queue.id != record.id)
            )
            if taken:
                # Mail sent to this address lands in one queue; two queues could not share it.
                raise Conflict(f"another queue receives mail at {record.email_address}", field="email_address")

    def set_members(self, queue_id: uuid.UUID, user_ids: list[uuid.UUID]) -> Queue:
        record = self.get(queue_id, Privilege.WRITE)
        self.uow.set_action("members")
        self._set_members(record, user_ids)
        self.session.flush()
        self.uow.commit()
        return record

    def _set_members(self, record: Queue, user_ids: list[uuid.UUID]) -> None:
        wanted = list(dict.fromkeys(user_ids))
        users = {u.id: u for u in self.session.scalars(select(User).where(User.id.in_(wanted)))}
        for i, user_id in enumerate(wanted):
            if user_id not in users:
                raise ValidationFailed.field(f"member_ids[{i}]", f"no user with id {user_id}")
        record.members = [users[u] for u in wanted]

    def before_delete(self, record: Queue) -> None:
        items = self.session.scalar(select(func.count()).select_from(QueueItem).where(QueueItem.queue_id == record.id))
        if items:
            raise Conflict(f"this queue holds {items} items; move or remove them first, or deactivate the queue")
        rules = self.session.scalar(
            select(func.count()).select_from(RoutingRuleItem).where(RoutingRuleItem.queue_id == record.id)
        )
        if rules:
            raise Conflict(f"{rules} routing rule items send cases to this queue; change them first")


@dataclass(frozen=True)
class ItemQuery:
    worker_id: uuid.UUID | None = None
    object_type: str | None = None
    worked: bool | None = None  # False: only items nobody works yet
    cursor: str | None = None
    limit: int = 50


class QueueItemService:
    def __init__(self, uow: UnitOfWork, principal: Principal) -> None:
        self.uow = uow
        self.principal = principal
        self.session = uow.session
        self.queues = QueueService(uow, principal)

    # --- reads -------------------------------------------------------------------------------------
    def list(self, queue_id: uuid.UUID, query: ItemQuery) -> listing.Page[QueueItem]:
        """The queue's items, oldest first (the order they are worked in)."""
        queue = self.queues.get(queue_id)
        if not is_member(self.principal, queue) and queue.queue_view_type == case_states.PRIVATE:
            raise Forbidden("this queue is private: only its members see its items")
        stmt = select(QueueItem).where(QueueItem.queue_id == queue.id, self._readable_objects())
        if query.object_type is not None:
            if query.object_type not in case_states.QUEUE_OBJECT_TYPES:
                raise ValidationFailed.field("object_type", "case or activity")
            column = QueueItem.case_id if query.object_type == "case" else QueueItem.activity_id
            stmt = stmt.where(column.is_not(None))
        if query.worked is not None:
            stmt = stmt.where(QueueItem.worker_id.is_not(None) if query.worked else QueueItem.worker_id.is_(None))
        filters = [listing.Filter("worker_id", listing.Op.EQ, query.worker_id)] if query.worker_id else []
        lq = listing.ListQuery(filters=filters, sort="entered_on", cursor=query.cursor, limit=query.limit)
        rows = list(self.session.scalars(listing.apply(stmt, QueueItem, lq, {"entered_on"})))
        return listing.page(rows, lq)

    def get(self, item_id: uuid.UUID, lock: bool = False) -> QueueItem:
        """An item the caller may see: its queue is public or he is a member, and he may read its record."""
        item = self.session.get(QueueItem, item_id, with_for_update=lock or None)
        if item is not None:
            queue = self.session.get(Queue, item.queue_id)
            visible = queue is not None and access.reaches(
                self.session, self.principal, entity("queue"), Privilege.READ, queue
            ) and (queue.queue_view_type == case_states.PUBLIC or is_member(self.principal, queue))
            if visible and self._object(item.object_type, item.object_id, Privilege.READ) is not None:
                return item
        raise NotFound(f"no queue item with id {item_id}")

    # --- writes ------------------------------------------------------------------------------------
    def add(self, queue_id: uuid.UUID, object_type: str, object_id: uuid.UUID) -> tuple[QueueItem, bool]:
        """AddToQueue: puts a case or an activity in the queue, moving it out of any other. Needs read on the
        queue and append on the record; closed records are not queued."""
        queue = self.queues.get(queue_id)
        if queue.statecode != 0:
            raise Conflict("this queue is inactive; activate it before adding items")
        if object_type not in case_states.QUEUE_OBJECT_TYPES:
            raise ValidationFailed.field("object_type", "case or activity")
        record = self._object(object_type, object_id, Privilege.READ)
        if record is None:
            raise ValidationFailed.field("object_id", f"no {object_type} with id {object_id}")
        access.require(self.session, self.principal, entity(object_type), Privilege.APPEND, record)
        closed = entity("case").states.closed if object_type == "case" else kind_of(record).states.closed
        if record.statecode in closed:
            raise Conflict(f"this {object_type} is closed; reactivate it before queueing it")
        self.uow.set_action("queue")
        item, changed = place(self.session, queue, record)
        self.uow.commit()
        return item, changed

    def pick(self, item_id: uuid.UUID, worker_id: uuid.UUID | None = None, remove: bool = False) -> QueueItem:
        """PickFromQueue: the caller (or, for whoever may change the queue, the user given) works the item;
        `remove` takes it out of the queue as well. An item worked by someone else must be released first."""
        item = self.get(item_id, lock=True)
        queue = self.session.get(Queue, item.queue_id)
        assert queue is not None
        worker_id = worker_id or self.principal.user_id
        if worker_id != self.principal.user_id:
            access.require(self.session, self.principal, entity("queue"), Privilege.WRITE, queue)
            worker = self.session.get(User, worker_id)
            if worker is None or worker.is_disabled:
                raise ValidationFailed.field("worker_id", f"no enabled user with id {worker_id}")
            if queue.queue_view_type == case_states.PRIVATE and worker_id not in queue.member_ids:
                raise ValidationFailed.field("worker_id", "this queue is private and that user is not a member")
        if item.worker_id is not None and item.worker_id != worker_id:
            raise Conflict("someone else works this item; it must be released first", worker_id=str(item.worker_id))
        self.uow.set_action("pick")
        if item.worker_id != worker_id:
            item.worker_id, item.worked_on = worker_id, utcnow()
        if remove:
            self.session.delete(item)
        self.session.flush()
        self._expire_case(item)
        self.uow.commit()
        return item

    def release(self, item_id: uuid.UUID) -> QueueItem:
        """ReleaseToQueue: nobody works the item any more. Its worker, or whoever may change the queue."""
        item = self.get(item_id, lock=True)
        if item.worker_id is None:
            raise Conflict("nobody works this item")
        self._require_worker_or_queue_writer(item, "release")
        self.uow.set_action("release")
        item.worker_id = item.worked_on = None
        self.session.flush()
        self._expire_case(item)
        self.uow.commit()
        return item

    def remove(self, item_id: uuid.UUID) -> None:
        """RemoveFromQueue: its worker, whoever may change the queue, or whoever may change the record."""
        item = self.get(item_id, lock=True)
        record = self._object(item.object_type, item.object_id, Privilege.WRITE)
        if record is None:
            self._require_worker_or_queue_writer(item, "remove")
        self.uow.set_action("dequeue")
        self.session.delete(item)
        self.session.flush()
        self._expire_case(item)
        self.uow.commit()

    # --- internals ---------------------------------------------------------------------------------
    def _require_worker_or_queue_writer(self, item: QueueItem, verb: str) -> None:
        if item.worker_id == self.principal.user_id:
            return
        queue = self.session.get(Queue, item.queue_id)
        if queue is None or not access.reaches(self.session, self.principal, entity("queue"), Privilege.WRITE, queue):
            raise Forbidden(f"only the worker of this item or whoever may change the queue can {verb} it")

    def _object(self, object_type: str, object_id: uuid.UUID, privilege: Privilege) -> Any:
        spec = entity(object_type)
        if self.principal.depth(spec.name, privilege) == Depth.NONE:
            return None
        record = self.session.get(spec.model, object_id)
        if record is None or not access.reaches(self.session, self.principal, spec, privilege, record):
            return None
        return record

    def _readable_objects(self) -> ColumnElement[bool]:
        """Items whose record the caller may read, in SQL, so that pages stay full and cursors right."""
        conds = []
        for name, column in (("case", QueueItem.case_id), ("activity", QueueItem.activity_id)):
            spec = entity(name)
            if self.principal.depth(name, Privilege.READ) == Depth.NONE:
                continue
            readable = select(spec.model.id).where(access.scope(self.principal, spec, Privilege.READ))
            conds.append(and_(column.is_not(None), column.in_(readable)))
        return or_(*conds) if conds else false()

    def _expire_case(self, item: QueueItem) -> None:
        if item.case_id is not None:
            case = self.session.get(Case, item.case_id)
            if case is not None:
                self.session.expire(case, ["queue_item"])
