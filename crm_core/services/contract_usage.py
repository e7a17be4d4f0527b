"""How cases use contracts: the contract (and line) a case is opened under, the allotment its resolution
consumes, and what a customer may open cases under (the contracts the case form offers).

A case's contract must be Active, cover today and be the customer's (for a contact, also his parent
account's). Number of Cases and Time contracts need a line: Existing, in date and not exhausted. Resolving
the case takes 1 case or the minutes spent from the line, under a row lock so that two resolutions never take
the last allotment twice; the resolution records what it took, and reactivating the case gives it back.
CaseService calls the hooks inside its unit of work (crm_core.services.cases)."""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import inspect, or_, select
from sqlalchemy.orm import Session

from crm_core import contract_states as ks
from crm_core.entities import entity
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import Case, CaseResolution, Contact, Contract, ContractLine
from crm_core.security import access
from crm_core.security.principal import Principal, load_principal
from crm_core.security.privileges import Privilege
from crm_core.services.contract_lines import counts_allotments, describe, give, line_problem, take, today


@dataclass(frozen=True)
class Available:
    """A contract a customer may open a case under on a day, with the lines that can carry it."""

    contract: Contract
    lines: list[ContractLine]


# --- hooks of CaseService ----------------------------------------------------------------------------
def check_for_case(session: Session, case: Case) -> None:
    """The case's contract and contract line are usable for it (active, the case's customer, in date, with
    allotments left), or a 422 naming contract_id or contract_line_id. A line alone gives the case its
    contract; removing the contract (and not giving a line) removes the line too."""
    if case.contract_id is None and _given(case, "contract_id") and not _given(case, "contract_line_id"):
        case.contract_line_id = None
        return
    line = None
    if case.contract_line_id is not None:
        line = session.get(ContractLine, case.contract_line_id)
        if line is None:
            raise ValidationFailed.field("contract_line_id", f"no contract line with id {case.contract_line_id}")
        if case.contract_id != line.contract_id:
            if case.contract_id is not None and _given(case, "contract_id"):
                mine = session.get(Contract, case.contract_id)
                theirs = session.get(Contract, line.contract_id)
                raise ValidationFailed.field(
                    "contract_line_id", f"{describe(line)} is a line of contract {_number(theirs)}, not of "
                    f"{_number(mine)}; give a line of {_number(mine)}, or none")
            _require_readable(session, line)
            case.contract_id = line.contract_id
    elif case.contract_id is None:
        return
    contract = session.get(Contract, case.contract_id)
    assert contract is not None  # the case service checked the link, or the line named it
    on = today()
    if contract.statecode != ks.ACTIVE:
        raise ValidationFailed.field("contract_id", f"contract {contract.contract_number} is "
                                     f"{ks.CONTRACT.state(contract.statecode).name}")
    if not contract.active_on <= on <= contract.expires_on:
        raise ValidationFailed.field("contract_id", f"contract {contract.contract_number} runs from "
                                     f"{contract.active_on} to {contract.expires_on}, not today ({on})")
    if not _covers(session, contract, case.customer_account_id, case.customer_contact_id):
        raise ValidationFailed.field("contract_id", f"contract {contract.contract_number} is not a contract of "
                                     "the case's customer (nor of his parent account)")
    if line is None:
        if counts_allotments(contract):
            kind = ks.ALLOTMENT_TYPE[contract.allotment_type]
            raise ValidationFailed.field("contract_line_id", f"contract {contract.contract_number} counts "
                                         f"{kind}: give the line whose allotment the case uses")
        return
    problem = line_problem(contract, line, on)
    if problem is not None:
        raise ValidationFailed.field("contract_line_id", problem)


def consume(session: Session, case: Case, resolution: CaseResolution) -> None:
    """Resolving the case takes its allotment from the contract line and records it on the resolution:
    1 for Number of Cases, the minutes spent for Time (past the allotment, as overage), nothing for
    Coverage Dates. The line is locked and checked again: another case may have used it up meanwhile."""
    if case.contract_line_id is None:
        return
    line = session.get(ContractLine, case.contract_line_id, with_for_update=True, populate_existing=True)
    assert line is not None  # the foreign key holds it
    contract = session.get(Contract, line.contract_id)
    assert contract is not None
    on = today()
    problem = None
    if contract.statecode != ks.ACTIVE:
        problem = f"contract {contract.contract_number} is {ks.CONTRACT.state(contract.statecode).name}"
    problem = problem or line_problem(contract, line, on)
    if problem is not None:
        raise Conflict(f"{problem}; this case cannot be resolved under it: give the case another contract line, "
                       "or none")
    amount = {ks.CASES: 1, ks.TIME: resolution.time_spent_minutes}.get(contract.allotment_type, 0)
    take(line, amount)
    resolution.contract_line_id = line.id
    resolution.allotments_consumed = amount


def give_back(session: Session, resolution: CaseResolution) -> None:
    """The case is reactivated: what its canceled resolution consumed returns to the line (the resolution
    keeps the figure, as the record of what it had taken)."""
    if resolution.contract_line_id is None or not resolution.allotments_consumed:
        return
    line = session.get(ContractLine, resolution.contract_line_id, with_for_update=True, populate_existing=True)
    if line is not None:
        give(line, resolution.allotments_consumed)


# --- what the case form offers -----------------------------------------------------------------------
def available(session: Session, principal: Principal, customer_type: str, customer_id: uuid.UUID,
              on: date) -> list[Available]:
    """The Active contracts the caller can read that cover the customer on `on` (a contact's own, and his
    parent account's), each with its usable lines. A contract that counts allotments is offered only when a
    line of it can carry a case."""
    spec = entity(customer_type)
    customer = session.get(spec.model, customer_id)
    if customer is None or not access.reaches(session, principal, spec, Privilege.READ, customer):
        raise ValidationFailed.field("customer_id", f"no {customer_type} with id {customer_id}")
    if customer_type == "account":
        whose = Contract.customer_account_id == customer_id
    else:
        assert isinstance(customer, Contact)
        whose = or_(Contract.customer_contact_id == customer_id,
                    Contract.customer_account_id == customer.parent_account_id) \
            if customer.parent_account_id is not None else Contract.customer_contact_id == customer_id
    stmt = select(Contract).where(
        access.scope(principal, entity("contract"), Privilege.READ), whose, Contract.statecode == ks.ACTIVE,
        Contract.active_on <= on, Contract.expires_on >= on,
    ).order_by(Contract.expires_on, Contract.contract_number)
    offered = []
    for contract in session.scalars(stmt):
        lines = [x for x in contract.lines if line_problem(contract, x, on) is None]
        if lines or not counts_allotments(contract):
            offered.append(Available(contract, lines))
    return offered


# --- internals -------------------------------------------------------------------------------------
def _given(case: Case, key: str) -> bool:
    """Whether `key` was set in this change of the case (rather than kept from before)."""
    return bool(inspect(case).attrs[key].history.added)


def _number(contract: Contract | None) -> str:
    return contract.contract_number if contract is not None else "?"


def _covers(session: Session, contract: Contract, account_id: uuid.UUID | None,
            contact_id: uuid.UUID | None) -> bool:
    if contract.customer_account_id is not None and contract.customer_account_id == account_id:
        return True
    if contact_id is None:
        return False
    if contract.customer_contact_id == contact_id:
        return True
    parent = session.scalar(select(Contact.parent_account_id).where(Contact.id == contact_id))
    return parent is not None and parent == contract.customer_account_id


def _require_readable(session: Session, line: ContractLine) -> None:
    """A line given alone names its contract, which the case service did not check: the caller must be able
    to read it and link to it, as he must to give contract_id."""
    actor = session.info.get("actor_id")
    if actor is None:  # the organisation itself (mail-to-case, imports)
        return
    principal = load_principal(session, actor)
    spec, contract = entity("contract"), session.get(Contract, line.contract_id)
    if not access.reaches(session, principal, spec, Privilege.READ, contract):
        raise ValidationFailed.field("contract_line_id", f"no contract line with id {line.id}")
    if not access.reaches(session, principal, spec, Privilege.APPEND_TO, contract):
        raise ValidationFailed.field("contract_line_id", "your roles do not let you link cases to contract "
                                     f"{_number(contract)}")
