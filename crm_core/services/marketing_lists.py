"""Marketing lists (DOMAIN.md §7): one member type per list (account, contact or lead); static lists whose
members are added and removed, dynamic lists whose members are their criteria's result at the moment of use.

Choices where Dynamics leaves room:
- Members are always seen through the caller's read access: a record he cannot read is never listed, counted
  or copied. A dynamic list's members are the records *he* can read that match; a static list keeps its
  stored members, and those he cannot read stay hidden (a distribution counts them as skipped).
- Adding members takes readable records of the list's type; ids already in the list are reported back and
  not added twice (the call is idempotent). Removing needs only the member id.
- The member type and static/dynamic choice are fixed at creation (Dynamics' createdfromcode and type).
- A locked list (lockstatus) refuses every change, its members' included, and deletion; the one change it
  accepts is `{"locked": false}`. An inactive list is read-only until activated.
- Copy to static (CopyDynamicListToStatic) makes a new static list, owned by the caller, with the dynamic
  list's current members as he sees them."""

import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, func, select

from crm_core.db.types import utcnow
from crm_core.entities import entity
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.marketing_states import MEMBER_TYPES
from crm_core.models import MarketingList, MarketingListMember
from crm_core.security import access
from crm_core.security.privileges import Privilege
from crm_core.services import list_criteria, listing
from crm_core.services.pricing import check_currency
from crm_core.services.records import OwnerRef, RecordService

MAX_IDS_PER_CALL = 1000
MEMBER_SORT = "created_on"


def member_condition(lst: MarketingList) -> ColumnElement[bool]:
    """Which records of the list's member type are its members (before any access filter)."""
    model = list_criteria.MODELS[lst.member_type]
    if lst.is_dynamic:
        node = list_criteria.parse(lst.member_type, lst.criteria or {"all": []})
        return list_criteria.compile_criteria(lst.member_type, node)
    return model.id.in_(select(MarketingListMember.member_id).where(MarketingListMember.list_id == lst.id))


def member_name(member_type: str, record: Any) -> str:
    if member_type == "account":
        return record.name  # type: ignore[no-any-return]
    if member_type == "contact":
        return record.full_name  # type: ignore[no-any-return]
    return record.full_name or record.company_name or record.subject  # type: ignore[no-any-return]


class MarketingListService(RecordService[MarketingList]):
    entity_name = "marketing_list"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    # --- writes ------------------------------------------------------------------------------------
    def update(self, record_id: uuid.UUID, values: dict[str, Any]) -> MarketingList:
        record = self.get(record_id, Privilege.WRITE)
        if record.locked and not (set(values) == {"locked"} and values["locked"] is False):
            raise Conflict("this marketing list is locked; unlock it first (send {\"locked\": false} alone)")
        super().ensure_editable(record)  # its state; the lock was checked above
        self.apply(record, values, creating=False)
        self.session.flush()
        self.uow.commit()
        return record

    def apply(self, record: MarketingList, values: dict[str, Any], creating: bool) -> None:
        values = dict(values)
        for fixed in ("member_type", "is_dynamic"):
            if not creating and fixed in values and values[fixed] != getattr(record, fixed):
                raise ValidationFailed.field(fixed, "is fixed when the list is created; make a new list")
        super().apply(record, values, creating)

    def validate(self, record: MarketingList, values: dict[str, Any], creating: bool) -> None:
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "a marketing list needs a name")
        if record.member_type not in MEMBER_TYPES:
            raise ValidationFailed.field("member_type", "account, contact or lead")
        record.is_dynamic = bool(record.is_dynamic)
        if record.is_dynamic:
            if record.criteria is None:
                raise ValidationFailed.field("criteria", "a dynamic list needs criteria, e.g. {\"all\": [...]}")
            if creating or "criteria" in values:
                record.criteria = list_criteria.check(record.member_type, record.criteria)
        elif record.criteria is not None:
            raise ValidationFailed.field("criteria", "only a dynamic list has criteria")
        if record.cost is not None and record.cost < 0:
            raise ValidationFailed.field("cost", "cannot be negative")
        if record.cost is not None or record.currency_code is not None:
            record.currency_code = check_currency(record.currency_code)
        record.locked = bool(record.locked)

    def ensure_editable(self, record: MarketingList) -> None:
        super().ensure_editable(record)
        if record.locked:
            raise Conflict("this marketing list is locked; unlock it first")

    def before_delete(self, record: MarketingList) -> None:
        if record.locked:
            raise Conflict("this marketing list is locked; unlock it before deleting it")

    # --- members -----------------------------------------------------------------------------------
    def members(self, list_id: uuid.UUID, cursor: str | None, limit: int) -> listing.Page[Any]:
        """The current members the caller can read, oldest record first, in cursor pages."""
        lst = self.get(list_id)
        model = list_criteria.MODELS[lst.member_type]
        stmt = select(model).where(self._readable_members(lst))
        query = listing.ListQuery(sort=MEMBER_SORT, cursor=cursor, limit=limit)
        rows = list(self.session.scalars(listing.apply(stmt, model, query, {MEMBER_SORT})))
        return listing.page(rows, query)

    def count(self, list_id: uuid.UUID) -> int:
        lst = self.get(list_id)
        model = list_criteria.MODELS[lst.member_type]
        return self.session.scalar(  # type: ignore[no-any-return]
            select(func.count()).select_from(model).where(self._readable_members(lst)))

    def _readable_members(self, lst: MarketingList) -> ColumnElement[bool]:
        spec = entity(lst.member_type)
        return member_condition(lst) & access.scope(self.principal, spec, Privilege.READ)

    def add_members(self, list_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
        """Adds readable records of the list's type. Returns (added, already members), in the order given."""
        lst = self._static_for_change(list_id)
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            raise ValidationFailed.field("ids", "give at least one id")
        if len(wanted) > MAX_IDS_PER_CALL:
            raise ValidationFailed.field("ids", f"at most {MAX_IDS_PER_CALL} ids per call")
        spec = entity(lst.member_type)
        model = spec.model
        readable = set(self.session.scalars(
            select(model.id).where(model.id.in_(wanted), access.scope(self.principal, spec, Privilege.READ))))
        missing = [(i, v) for i, v in enumerate(ids) if v not in readable]
        if missing:
            errors = [{"field": f"ids[{i}]", "message": f"no {lst.member_type} with id {v}"} for i, v in missing]
            raise ValidationFailed(f"{errors[0]['field']}: {errors[0]['message']}", errors)
        present = set(self.session.scalars(select(MarketingListMember.member_id).where(
            MarketingListMember.list_id == lst.id, MarketingListMember.member_id.in_(wanted))))
        added = [v for v in wanted if v not in present]
        self.uow.set_action("add_members")
        now = utcnow()
        self.session.add_all(MarketingListMember(id=uuid.uuid4(), list_id=lst.id, member_id=v, added_on=now)
                             for v in added)
        lst.modified_on = now
        self.session.flush()
        self.uow.commit()
        return added, [v for v in wanted if v in present]

    def remove_member(self, list_id: uuid.UUID, member_id: uuid.UUID) -> None:
        lst = self._static_for_change(list_id)
        row = self.session.scalar(select(MarketingListMember).where(
            MarketingListMember.list_id == lst.id, MarketingListMember.member_id == member_id))
        if row is None:
            raise NotFound(f"{member_id} is not a member of this list")
        self.uow.set_action("remove_member")
        self.session.delete(row)
        lst.modified_on = utcnow()
        self.session.flush()
        self.uow.commit()

    def _static_for_change(self, list_id: uuid.UUID) -> MarketingList:
        lst = self.get(list_id, Privilege.WRITE)
        if lst.is_dynamic:
            raise Conflict("a dynamic list's members come from its criteria; change the criteria, or copy it "
                           "to a static list")
        self.ensure_editable(lst)
        return lst

    # --- copy --------------------------------------------------------------------------------------
    def copy_to_static(self, list_id: uuid.UUID, name: str | None = None) -> MarketingList:
        source = self.get(list_id)
        if not source.is_dynamic:
            raise Conflict("this list is static already")
        self.principal.require(self.entity_name, Privilege.CREATE)
        model = list_criteria.MODELS[source.member_type]
        member_ids = list(self.session.scalars(select(model.id).where(self._readable_members(source))))
        copy = MarketingList(id=uuid.uuid4())
        self._set_owner(copy, OwnerRef("user", self.principal.user_id), Privilege.CREATE)
        copy.statecode, copy.statuscode = self.spec.states.resolve(0, None)  # type: ignore[union-attr]
        values = {"name": name or f"{source.name} (copy)"[:128], "member_type": source.member_type,
                  "is_dynamic": False, "purpose": source.purpose, "source": source.source,
                  "description": source.description}
        self.apply(copy, values, creating=True)
        self.uow.set_action("copy_to_static")
        self.session.add(copy)
        self.session.flush()
        now = utcnow()
        self.session.add_all(MarketingListMember(id=uuid.uuid4(), list_id=copy.id, member_id=v, added_on=now)
                             for v in member_ids)
        self.session.flush()
        self.uow.commit()
        return copy
