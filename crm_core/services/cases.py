"""Cases (DOMAIN.md §8): customer, origin, priority, subject, parent and child cases, a case number, and the
lifecycle: resolve (CloseIncident, with a resolution), cancel, merge into another case, reactivate.

Organisation preference: Dynamics offers "close all child cases when the parent closes" (0) or "a parent
cannot close until all its children are closed" (1). We hold the second: resolving, canceling or merging a
case with active children is refused, so nothing closes behind a user's back. Accordingly a child's parent
must be active, and a child cannot be reactivated under a closed parent. Closing a case takes it out of its
queue. New cases go through the active routing rule (crm_core.services.routing)."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from sqlalchemy import func, select

from crm_core import case_states as cs
from crm_core.db.types import utcnow
from crm_core.errors import Conflict, InvalidStateTransition, ValidationFailed
from crm_core.models import Case, CaseResolution, Subject
from crm_core.models.catalog import Product
from crm_core.security import access
from crm_core.security.privileges import Privilege
from crm_core.services import case_slas, contract_usage, listing, queues, routing
from crm_core.services.autonumber import next_number
from crm_core.services.records import OwnerRef, RecordService

CASE_NUMBER_PREFIX = "CAS"
_OPTIONS = {"origin_code": cs.ORIGIN, "case_type_code": cs.CASE_TYPE, "priority_code": cs.PRIORITY}


class CaseService(RecordService[Case]):
    entity_name = "case"
    links: ClassVar[dict[str, str]] = {"primary_contact_id": "contact", "parent_case_id": "case",
                                       "contract_id": "contract"}
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "title", "case_number", "priority_code"}

    # --- reads -------------------------------------------------------------------------------------
    def list(self, query: listing.ListQuery) -> listing.Page[Case]:
        extra, query = listing.customer_filter(query, Case)
        stmt = select(Case).where(access.scope(self.principal, self.spec, Privilege.READ), *extra)
        rows = list(self.session.scalars(listing.apply(stmt, Case, query, self.sortable)))
        return listing.page(rows, query)

    def resolutions(self, record_id: uuid.UUID) -> list[CaseResolution]:
        """The case's resolutions, newest first: the one in force, and those canceled by reactivations."""
        record = self.get(record_id)
        stmt = select(CaseResolution).where(CaseResolution.case_id == record.id)
        return list(self.session.scalars(stmt.order_by(CaseResolution.resolved_on.desc(), CaseResolution.id)))

    # --- writes ------------------------------------------------------------------------------------
    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> Case:
        """A new Active/In Progress case with the next case number, then routed by the active rule."""
        self.principal.require(self.entity_name, Privilege.CREATE)
        record = Case(id=uuid.uuid4())
        self._set_owner(record, owner or OwnerRef("user", self.principal.user_id), Privilege.CREATE)
        record.statecode, record.statuscode = cs.CASE.resolve(cs.ACTIVE, None)
        self.apply(record, values, creating=True)
        record.case_number = next_number(self.session, CASE_NUMBER_PREFIX)
        self.session.add(record)
        self.session.flush()
        # The routing gets an audit entry of its own; the caller's action is restored for what he does next
        # in the same unit of work (a campaign response converted to this case, say).
        previous = self.session.info.get("audit_action")
        self.uow.set_action("route")
        routing.apply_routing(self.session, record)
        self.session.flush()
        self.session.info["audit_action"] = previous
        case_slas.on_created(self.session, record, utcnow())
        self.session.flush()
        self.uow.commit()
        return record

    def apply(self, record: Case, values: dict[str, Any], creating: bool) -> None:
        values = dict(values)
        customer = {k: values.pop(k) for k in ("customer_type", "customer_id") if k in values}
        with self.session.no_autoflush:  # nothing half-checked is written by the lookups below
            if customer or creating:
                self._set_customer(record, customer)
            super().apply(record, values, creating)
            if creating or {"contract_id", "contract_line_id", "customer_id"} & (values.keys() | customer.keys()):
                contract_usage.check_for_case(self.session, record)
        if not creating:
            case_slas.on_changed(self.session, record, set(values) | set(customer), utcnow())

    def validate(self, record: Case, values: dict[str, Any], creating: bool) -> None:
        record.title = (record.title or "").strip()
        if not record.title:
            raise ValidationFailed.field("title", "a case needs a title")
        if record.priority_code is None:
            record.priority_code = cs.DEFAULT_PRIORITY
        for name, choices in _OPTIONS.items():
            value = getattr(record, name)
            if value is not None and value not in choices:
                allowed = ", ".join(f"{k} {v}" for k, v in choices.items())
                raise ValidationFailed.field(name, f"one of {allowed}")
        if values.get("subject_id") is not None and self.session.get(Subject, record.subject_id) is None:
            raise ValidationFailed.field("subject_id", f"no subject with id {record.subject_id}")
        if values.get("product_id") is not None and self.session.get(Product, record.product_id) is None:
            raise ValidationFailed.field("product_id", f"no product with id {record.product_id}")
        if values.get("parent_case_id") is not None:
            self._check_parent(record)
        if values.get("sla_id") is not None:
            case_slas.check_sla(self.session, record.sla_id)
        if "title" in values and record.queue_item is not None:
            record.queue_item.title = record.title

    def before_delete(self, record: Case) -> None:
        children = self.session.scalar(select(func.count()).select_from(Case).where(Case.parent_case_id == record.id))
        if children:
            raise Conflict(f"this case has {children} child cases; delete them or give them another parent first")
        # Cases merged into this one lose their master (through the ORM, so that their trail shows it).
        for merged in self.session.scalars(select(Case).where(Case.master_id == record.id)):
            merged.master_id = None

    # --- lifecycle ---------------------------------------------------------------------------------
    def set_state(self, record_id: uuid.UUID, statecode: int, statuscode: int | None,
                  action: str = "set_state") -> Case:
        """Cancel, reactivate, or a new status reason of an active case. Resolving and merging have their
        own verbs, since they need a resolution or a master case."""
        record = self.get(record_id, Privilege.WRITE)
        new_state, new_status = cs.CASE.resolve(statecode, statuscode)
        if new_state == cs.RESOLVED:
            raise ValidationFailed.field("statecode", "resolve a case with POST /api/v1/cases/{id}/resolve, "
                                         "which records its resolution")
        if new_status == cs.MERGED:
            raise ValidationFailed.field("statuscode", "merge a case with POST /api/v1/cases/{id}/merge")
        current = record.statecode
        if current in cs.CASE.closed and new_state == current:
            raise Conflict(f"this case is {cs.CASE.state(current).name}; reactivate it first")
        if (new_state, new_status) == (current, record.statuscode):
            raise Conflict(f"this case is already {cs.CASE.label(new_state, new_status)[1]}")
        cs.CASE.check_transition(current, new_state)
        self.uow.set_action(action)
        if new_state == cs.CANCELED:
            self._refuse_open_children(record, "canceled")
            queues.remove_item(self.session, record)
        elif current != cs.ACTIVE:
            self._reactivate(record)
        record.statecode, record.statuscode = new_state, new_status
        self.session.flush()
        now = utcnow()
        if new_state == cs.CANCELED:
            case_slas.on_canceled(self.session, record, now)
        elif current != cs.ACTIVE:
            case_slas.on_reactivated(self.session, record, now)
        else:
            case_slas.on_changed(self.session, record, {"statuscode"}, now)
        self.session.flush()
        self.uow.commit()
        return record

    def resolve(self, record_id: uuid.UUID, subject: str, description: str | None, time_spent_minutes: int,
                statuscode: int | None = None) -> Case:
        """CloseIncident: a completed resolution (what solved it, how long it took), the case Resolved
        (Problem Solved 5 or Information Provided 1000), and out of its queue."""
        record = self.get(record_id, Privilege.WRITE)
        self._require_active(record, "resolved")
        new_state, new_status = cs.CASE.resolve(cs.RESOLVED, statuscode)
        subject = (subject or "").strip()
        if not subject:
            raise ValidationFailed.field("subject", "a resolution needs a subject: what solved the case")
        if time_spent_minutes < 0:
            raise ValidationFailed.field("time_spent_minutes", "cannot be negative")
        self._refuse_open_children(record, "resolved")
        self.uow.set_action("resolve")
        queues.remove_item(self.session, record)
        state, status = cs.RESOLUTION_COMPLETED
        resolution = CaseResolution(
            id=uuid.uuid4(), case_id=record.id, subject=subject, description=description,
            time_spent_minutes=time_spent_minutes, case_statuscode=new_status, statecode=state, statuscode=status,
        )
        self.session.add(resolution)
        contract_usage.consume(self.session, record, resolution)
        record.statecode, record.statuscode = new_state, new_status
        self.session.flush()
        case_slas.on_resolved(self.session, record, resolution.resolved_on or utcnow())
        self.session.flush()
        self.uow.commit()
        return record

    def merge(self, record_id: uuid.UUID, master_id: uuid.UUID) -> Case:
        """Merges this case into `master_id`: this one becomes Canceled/Merged and points at its master."""
        record = self.get(record_id, Privilege.WRITE)
        if master_id == record.id:
            raise ValidationFailed.field("master_id", "a case cannot be merged into itself")
        master = self.check_link("case", master_id, "master_id")
        self._require_active(record, "merged")
        if master.statecode != cs.ACTIVE:
            raise ValidationFailed.field("master_id", f"the master case is {cs.CASE.state(master.statecode).name}; "
                                         "merge into an active case")
        self._refuse_open_children(record, "merged")
        self.uow.set_action("merge")
        queues.remove_item(self.session, record)
        record.master_id = master.id
        record.statecode, record.statuscode = cs.CANCELED, cs.MERGED
        self.session.flush()
        case_slas.on_canceled(self.session, record, utcnow())
        self.session.flush()
        self.uow.commit()
        return record

    def route(self, record_id: uuid.UUID) -> Case:
        """Applies the active routing rule again (after the case changed, say)."""
        record = self.get(record_id, Privilege.WRITE)
        self._require_active(record, "routed")
        self.uow.set_action("route")
        routing.apply_routing(self.session, record)
        self.uow.commit()
        return record

    # --- internals ---------------------------------------------------------------------------------
    def _set_customer(self, record: Case, given: dict[str, Any]) -> None:
        """customer_type + customer_id: an account or a contact the caller may link to. Giving only the id
        keeps the current type."""
        has_customer = record.customer_account_id is not None or record.customer_contact_id is not None
        customer_type = given.get("customer_type", record.customer_type if has_customer else None)
        customer_id = given.get("customer_id", record.customer_id)
        if customer_id is None:
            raise ValidationFailed.field("customer_id", "a case needs a customer: an account or a contact")
        if customer_type not in cs.CUSTOMER_TYPES:
            raise ValidationFailed.field("customer_type", "account or contact")
        if (customer_type, customer_id) != ((record.customer_type, record.customer_id) if has_customer else None):
            self.check_link(customer_type, customer_id, "customer_id")
        record.customer_account_id = customer_id if customer_type == "account" else None
        record.customer_contact_id = customer_id if customer_type == "contact" else None

    def _check_parent(self, record: Case) -> None:
        parent = self.session.get(Case, record.parent_case_id)
        assert parent is not None  # check_link found it
        if parent.statecode != cs.ACTIVE:
            raise ValidationFailed.field("parent_case_id", f"the parent case is {cs.CASE.state(parent.statecode).name}"
                                         "; a child case needs an active parent")
        seen: set[uuid.UUID] = set()
        current: uuid.UUID | None = parent.id
        while current is not None and current not in seen:
            if current == record.id:
                raise ValidationFailed.field("parent_case_id", "a case cannot be its own parent or ancestor")
            seen.add(current)
            current = self.session.scalar(select(Case.parent_case_id).where(Case.id == current))

    def _require_active(self, record: Case, verb: str) -> None:
        if record.statecode != cs.ACTIVE:
            name = cs.CASE.state(record.statecode).name
            raise InvalidStateTransition(f"this case is {name}; only an active case can be {verb}")

    def _refuse_open_children(self, record: Case, verb: str) -> None:
        open_children = self.session.scalar(
            select(func.count()).select_from(Case)
            .where(Case.parent_case_id == record.id, Case.statecode == cs.ACTIVE)
        )
        if open_children:
            raise Conflict(f"this case has {open_children} active child cases; a parent case cannot be {verb} "
                           "until its children are resolved or canceled", open_children=open_children)

    def _reactivate(self, record: Case) -> None:
        """Back to Active: under an active parent only; the resolution in force is canceled, the merge undone."""
        if record.parent_case_id is not None:
            parent = self.session.get(Case, record.parent_case_id)
            if parent is not None and parent.statecode != cs.ACTIVE:
                raise Conflict("the parent case of this case is closed; reactivate the parent first")
        completed = select(CaseResolution).where(
            CaseResolution.case_id == record.id, CaseResolution.statecode == cs.RESOLUTION_COMPLETED[0]
        )
        for resolution in self.session.scalars(completed):
            resolution.statecode, resolution.statuscode = cs.RESOLUTION_CANCELED
            contract_usage.give_back(self.session, resolution)
        record.master_id = None
