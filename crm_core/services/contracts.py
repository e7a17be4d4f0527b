"""Service contracts (Dynamics' contract, DOMAIN.md §10): made from an Active template, for an account or a
contact, from active_on to expires_on, with lines (crm_core.services.contract_lines) whose totals the
contract carries, computed here on every line change.

Lifecycle, through verbs only (set-state cannot skip their rules):
    Draft --invoice--> Invoiced --(active_on comes)--> Active --(expires_on passes)--> Expired
    Active --hold--> On Hold --release--> Active;  Invoiced | Active | On Hold --cancel--> Canceled
    Active | On Hold | Expired --renew--> a new Draft contract that starts the day after this one expires.
Only a Draft contract and its lines can change. The dated moves are made by the verbs themselves when the
date has already come (invoicing a contract whose active_on is today activates it, as Dynamics' activation
job would at once) and by `refresh_contract_states`, which the periodic worker runs every day."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any, ClassVar

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from crm_core import contract_states as ks
from crm_core.errors import Conflict, InvalidStateTransition, NotFound, ValidationFailed
from crm_core.models import Case, Contract, ContractLine, Sla
from crm_core.security import access
from crm_core.security.privileges import Privilege
from crm_core.services import contract_lines, listing
from crm_core.services.autonumber import next_number
from crm_core.services.catalog import catalog_record
from crm_core.services.contract_lines import today
from crm_core.services.pricing import ZERO, check_currency
from crm_core.services.records import OwnerRef, RecordService

CONTRACT_NUMBER_PREFIX = "CNR"
CUSTOMER_TYPES = ("account", "contact")
VERBS = "invoice, hold, release, cancel, renew"
_RUNNING = (ks.INVOICED, ks.ACTIVE, ks.ON_HOLD)  # sold and not over: the dates move these on
_NAMED = 5  # case numbers named in a refusal to delete


class ContractService(RecordService[Contract]):
    entity_name = "contract"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "title", "contract_number", "active_on",
                                    "expires_on"}

    # --- reads -------------------------------------------------------------------------------------
    def list(self, query: listing.ListQuery) -> listing.Page[Contract]:
        extra, query = listing.customer_filter(query, Contract)
        stmt = select(Contract).where(access.scope(self.principal, self.spec, Privilege.READ), *extra)
        rows = list(self.session.scalars(listing.apply(stmt, Contract, query, self.sortable)))
        return listing.page(rows, query)

    def lines(self, record_id: uuid.UUID) -> list[ContractLine]:
        return list(self.get(record_id).lines)

    def line(self, record_id: uuid.UUID, line_id: uuid.UUID) -> ContractLine:
        return self._line(self.get(record_id), line_id)

    # --- writes ------------------------------------------------------------------------------------
    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> Contract:
        """A Draft contract from an Active template, with the next contract number and no lines yet."""
        self.principal.require(self.entity_name, Privilege.CREATE)
        record = Contract(id=uuid.uuid4(), total_price=ZERO, total_discount=ZERO, net_price=ZERO)
        self._set_owner(record, owner or OwnerRef("user", self.principal.user_id), Privilege.CREATE)
        record.statecode, record.statuscode = ks.CONTRACT.resolve(ks.DRAFT, None)
        self.apply(record, values, creating=True)
        record.contract_number = next_number(self.session, CONTRACT_NUMBER_PREFIX)
        self.session.add(record)
        return self._commit(record)

    def apply(self, record: Contract, values: dict[str, Any], creating: bool) -> None:
        values = dict(values)
        customer = {k: values.pop(k) for k in ("customer_type", "customer_id") if k in values}
        template_id = values.pop("template_id", None)
        with self.session.no_autoflush:
            if creating:
                self._from_template(record, template_id)
            if customer or creating:
                self._set_customer(record, customer)
            super().apply(record, values, creating)

    def validate(self, record: Contract, values: dict[str, Any], creating: bool) -> None:
        record.title = (record.title or "").strip()
        if not record.title:
            raise ValidationFailed.field("title", "a contract needs a title")
        check_currency(record.currency_code)
        for name in ("active_on", "expires_on"):
            if getattr(record, name) is None:
                raise ValidationFailed.field(name, "a contract needs the dates it runs")
        if record.expires_on < record.active_on:
            raise ValidationFailed.field("expires_on", f"comes before active_on {record.active_on}")
        if values.get("sla_id") is not None and self.session.get(Sla, record.sla_id) is None:
            raise ValidationFailed.field("sla_id", f"no SLA with id {record.sla_id}")
        if not creating and {"active_on", "expires_on"} & values.keys():
            contract_lines.check_dates_hold_lines(record)

    def ensure_editable(self, record: Contract) -> None:
        """Only a draft contract (and its lines) changes: once invoiced, it is what the customer bought."""
        if record.statecode != ks.DRAFT:
            raise Conflict(f"contract {record.contract_number} is {self._state(record)} and read-only; only a "
                           "Draft contract and its lines can change")

    def update(self, record_id: uuid.UUID, values: dict[str, Any]) -> Contract:
        record = self.get(record_id, Privilege.WRITE)
        self.ensure_editable(record)
        self.apply(record, values, creating=False)
        return self._commit(record)

    def before_delete(self, record: Contract) -> None:
        if record.statecode not in (ks.DRAFT, ks.CANCELED):
            raise Conflict(f"contract {record.contract_number} is {self._state(record)}; only a Draft or Canceled "
                           "contract can be deleted")
        count = self.session.scalar(select(func.count()).select_from(Case).where(Case.contract_id == record.id))
        if count:
            numbers = list(self.session.scalars(select(Case.case_number).where(Case.contract_id == record.id)
                                                .order_by(Case.case_number).limit(_NAMED)))
            more = f" and {count - len(numbers)} more" if count > len(numbers) else ""
            raise Conflict(f"contract {record.contract_number} has {count} cases ({', '.join(numbers)}{more}); "
                           "it cannot be deleted", case_numbers=numbers)

    # --- lines -------------------------------------------------------------------------------------
    def add_line(self, record_id: uuid.UUID, values: dict[str, Any]) -> ContractLine:
        record = self._editable(record_id)
        line = contract_lines.new_line(record)
        with self.session.no_autoflush:
            contract_lines.apply_line(self.session, self.principal, record, line, values, creating=True)
            record.lines.append(line)
            contract_lines.recompute(record)
        self._commit(record)
        return line

    def update_line(self, record_id: uuid.UUID, line_id: uuid.UUID, values: dict[str, Any]) -> ContractLine:
        record = self._editable(record_id)
        line = self._line(record, line_id)
        with self.session.no_autoflush:
            contract_lines.apply_line(self.session, self.principal, record, line, values, creating=False)
            contract_lines.recompute(record)
        self._commit(record)
        return line

    def delete_line(self, record_id: uuid.UUID, line_id: uuid.UUID) -> None:
        record = self._editable(record_id)
        record.lines.remove(self._line(record, line_id))
        contract_lines.recompute(record)
        self._commit(record)

    # --- lifecycle ---------------------------------------------------------------------------------
    def set_state(self, record_id: uuid.UUID, statecode: int, statuscode: int | None,
                  action: str = "set_state") -> Contract:
        """Each state has one status reason, so set-state has nothing to do: the verbs move contracts."""
        record = self.get(record_id, Privilege.WRITE)
        if statecode != record.statecode:
            raise Conflict(f"change the state of a contract with its actions: {VERBS}")
        return super().set_state(record_id, statecode, statuscode, action)

    def invoice(self, record_id: uuid.UUID) -> Contract:
        """Draft -> Invoiced, or straight on to Active when active_on has come."""
        record = self._locked(record_id)
        self._require(record, (ks.DRAFT,), "invoice")
        if not record.lines:
            raise Conflict(f"contract {record.contract_number} has no lines; add at least one before invoicing it")
        on = today()
        if record.expires_on < on:
            raise Conflict(f"contract {record.contract_number} would have expired on {record.expires_on}; "
                           "change its dates before invoicing it")
        self._move(record, ks.INVOICED, "invoice")
        settle(record, on)
        return self._commit(record)

    def hold(self, record_id: uuid.UUID) -> Contract:
        record = self._locked(record_id)
        self._require(record, (ks.ACTIVE,), "hold")
        self._move(record, ks.ON_HOLD, "hold")
        return self._commit(record)

    def release(self, record_id: uuid.UUID) -> Contract:
        """On Hold -> Active (or Expired, if it ran out while held)."""
        record = self._locked(record_id)
        self._require(record, (ks.ON_HOLD,), "release")
        self._move(record, ks.ACTIVE, "release")
        settle(record, today())
        return self._commit(record)

    def cancel(self, record_id: uuid.UUID, canceled_on: date | None = None) -> Contract:
        """Canceled, with the date it was (by default today); its lines still in force are canceled too."""
        record = self._locked(record_id)
        self._require(record, _RUNNING, "cancel")
        self._move(record, ks.CANCELED, "cancel")
        record.canceled_on = canceled_on or today()
        for line in record.lines:
            if line.statecode == ks.LINE_EXISTING:
                line.statecode, line.statuscode = ks.LINE.resolve(ks.LINE_CANCELED, None)
        return self._commit(record)

    def renew(self, record_id: uuid.UUID) -> Contract:
        """Dynamics' RenewContract: a new Draft contract for the same customer and terms, owned by the caller,
        starting the day after this one expires and as long; its lines are copied with their usage reset.
        This contract stays as it is. A contract is renewed once (delete the renewal to renew it again)."""
        old = self.get(record_id)
        self.principal.require(self.entity_name, Privilege.CREATE)
        self._require(old, (ks.ACTIVE, ks.ON_HOLD, ks.EXPIRED), "renew")
        renewal = self.session.scalar(
            select(Contract.contract_number).where(Contract.originating_contract_id == old.id))
        if renewal is not None:
            raise Conflict(f"contract {old.contract_number} was renewed already, as {renewal}")
        new = Contract(id=uuid.uuid4(), originating_contract_id=old.id)
        self._set_owner(new, OwnerRef("user", self.principal.user_id), Privilege.CREATE)
        new.statecode, new.statuscode = ks.CONTRACT.resolve(ks.DRAFT, None)
        for name in ("title", "template_id", "customer_account_id", "customer_contact_id", "allotment_type",
                     "billing_frequency", "service_level", "sla_id", "currency_code", "description"):
            setattr(new, name, getattr(old, name))
        with self.session.no_autoflush:
            self.check_link(old.customer_type, old.customer_id, "customer_id")  # type: ignore[arg-type]
        new.active_on = old.expires_on + timedelta(days=1)
        new.expires_on = new.active_on + (old.expires_on - old.active_on)
        new.contract_number = next_number(self.session, CONTRACT_NUMBER_PREFIX)
        self.uow.set_action("renew")
        self.session.add(new)
        contract_lines.copy_for_renewal(old, new, new.active_on - old.active_on)
        contract_lines.recompute(new)
        return self._commit(new)

    # --- internals ---------------------------------------------------------------------------------
    def _from_template(self, record: Contract, template_id: uuid.UUID | None) -> None:
        template = catalog_record(self.session, self.principal, "contract_template", template_id, "template_id")
        if template.statecode != 0:
            raise ValidationFailed.field("template_id", f"contract template {template.name!r} is Inactive; only "
                                         "an Active template makes new contracts")
        record.template_id = template.id
        record.allotment_type = template.allotment_type
        record.billing_frequency = template.billing_frequency
        record.service_level = template.service_level

    def _set_customer(self, record: Contract, given: dict[str, Any]) -> None:
        """customer_type + customer_id: an account or a contact the caller may link to. Giving only the id
        keeps the current type."""
        has_customer = record.customer_account_id is not None or record.customer_contact_id is not None
        customer_type = given.get("customer_type", record.customer_type if has_customer else None)
        customer_id = given.get("customer_id", record.customer_id)
        if customer_type not in CUSTOMER_TYPES:
            raise ValidationFailed.field("customer_type", "'account' or 'contact'")
        if customer_id is None:
            raise ValidationFailed.field("customer_id", "a contract needs a customer: an account or a contact")
        if (customer_type, customer_id) != ((record.customer_type, record.customer_id) if has_customer else None):
            self.check_link(customer_type, customer_id, "customer_id")
        record.customer_account_id = customer_id if customer_type == "account" else None
        record.customer_contact_id = customer_id if customer_type == "contact" else None

    def _editable(self, record_id: uuid.UUID) -> Contract:
        record = self.get(record_id, Privilege.WRITE)
        self.ensure_editable(record)
        return record

    def _locked(self, record_id: uuid.UUID) -> Contract:
        """The contract, writable by the caller, its row locked until commit (PostgreSQL), so that a verb
        and the daily refresh never both move it from the same state."""
        record = self.get(record_id, Privilege.WRITE)
        self.session.refresh(record, with_for_update=True)
        return record

    def _line(self, record: Contract, line_id: uuid.UUID) -> ContractLine:
        for line in record.lines:
            if line.id == line_id:
                return line
        raise NotFound(f"no line with id {line_id} on contract {record.contract_number}")

    def _require(self, record: Contract, sources: tuple[int, ...], verb: str) -> None:
        if record.statecode not in sources:
            allowed = " or ".join(ks.CONTRACT.state(s).name for s in sources)
            raise InvalidStateTransition(f"cannot {verb} contract {record.contract_number}: it is "
                                         f"{self._state(record)}; {verb} takes a contract that is {allowed}")

    def _move(self, record: Contract, statecode: int, action: str) -> None:
        ks.CONTRACT.check_transition(record.statecode, statecode)
        self.uow.set_action(action)
        record.statecode, record.statuscode = ks.CONTRACT.resolve(statecode, None)

    @staticmethod
    def _state(record: Contract) -> str:
        return ks.CONTRACT.state(record.statecode).name

    def _commit(self, record: Contract) -> Contract:
        self.session.flush()
        self.uow.commit()
        return record


# --- the dates move contracts on ---------------------------------------------------------------------
def settle(contract: Contract, on: date) -> int:
    """Moves a sold contract and its lines to what `on` makes them: Invoiced -> Active once active_on has
    come; Expired (with its lines) once expires_on has passed; a line Expired past its own expires_on.
    Returns how many moves it made: 1 for the contract (its lines going with it), 1 per line that ran out
    on its own."""
    if contract.statecode not in _RUNNING:
        return 0
    before = contract.statecode
    if contract.statecode == ks.INVOICED and contract.active_on <= on:
        contract.statecode, contract.statuscode = ks.CONTRACT.resolve(ks.ACTIVE, None)
    contract_over = contract.expires_on < on
    if contract_over:
        contract.statecode, contract.statuscode = ks.CONTRACT.resolve(ks.EXPIRED, None)
    changed = int(contract.statecode != before)
    for line in contract.lines:
        if line.statecode == ks.LINE_EXISTING and (contract_over or line.expires_on < on):
            line.statecode, line.statuscode = ks.LINE.resolve(ks.LINE_EXPIRED, None)
            changed += 0 if contract_over else 1
    return changed


def refresh_contract_states(session: Session, today: date) -> int:
    """The daily job: every Invoiced, Active or On Hold contract that `today` moves on (see `settle`). Acts
    as the organisation; flushes, and the caller commits. Returns how many moves it made (see `settle`)."""
    due_lines = select(ContractLine.contract_id).where(ContractLine.statecode == ks.LINE_EXISTING,
                                                       ContractLine.expires_on < today)
    stmt = select(Contract).where(
        Contract.statecode.in_(_RUNNING),
        or_(and_(Contract.statecode == ks.INVOICED, Contract.active_on <= today), Contract.expires_on < today,
            Contract.id.in_(due_lines)),
    ).order_by(Contract.id).with_for_update()
    previous = session.info.get("audit_action")
    session.info["audit_action"] = "refresh"
    changed = sum(settle(contract, today) for contract in session.scalars(stmt))
    session.flush()
    session.info["audit_action"] = previous
    return changed
