"""The lines of service contracts (Dynamics' contractdetail, DOMAIN.md §10): what a line may hold, the
contract's totals, and when a line can carry a case.

A line lies within its contract's dates, has a price and a discount (net = price - discount, never
negative) in the contract's currency, and for Number of Cases and Time contracts an allotment: the cases or
minutes that resolving cases on it consumes. Coverage Dates contracts count nothing; their lines only say
what is covered and until when. Usage is kept on the line (allotments_used, allotments_overage); a Time line
may run over its allotment by the minutes of the case that exhausts it, which is recorded as overage."""

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from crm_core import contract_states as ks
from crm_core.db import column_limits
from crm_core.db.types import utcnow
from crm_core.errors import ValidationFailed
from crm_core.models import Contract, ContractLine
from crm_core.security.principal import Principal
from crm_core.services import pricing
from crm_core.services.catalog import catalog_record
from crm_core.services.pricing import ZERO

LINE_FIELDS = ("title", "product_id", "active_on", "expires_on", "total_allotments", "price", "discount")
UNIT_WORDS = {ks.CASES: "cases", ks.TIME: "minutes"}


def today() -> date:
    """Contract dates are days; today is taken in UTC, as every stored time is."""
    return utcnow().date()


def counts_allotments(contract: Contract) -> bool:
    """Number of Cases and Time contracts count what their lines' cases use; Coverage Dates ones do not."""
    return contract.allotment_type in UNIT_WORDS


# --- changing lines ----------------------------------------------------------------------------------
def new_line(contract: Contract) -> ContractLine:
    number = max((x.line_number for x in contract.lines), default=0) + 1
    state, status = ks.LINE.resolve(ks.LINE_EXISTING, None)
    return ContractLine(id=uuid.uuid4(), contract_id=contract.id, line_number=number, allotments_used=0,
                        allotments_overage=0, statecode=state, statuscode=status)


def apply_line(session: Session, principal: Principal, contract: Contract, line: ContractLine,
               values: dict[str, Any], creating: bool) -> None:
    """Sets the given fields of a line and checks it against its contract. Dates left out of a new line
    are the contract's."""
    values = pricing.scaled(values)
    column_limits.check_values(ContractLine, values)
    for key in LINE_FIELDS:
        if key in values:
            setattr(line, key, values[key])
    line.title = (line.title or "").strip()
    if not line.title:
        raise ValidationFailed.field("title", "a contract line needs a title")
    if line.product_id is not None and (creating or "product_id" in values):
        catalog_record(session, principal, "product", line.product_id, "product_id")
    if creating:
        line.active_on = line.active_on or contract.active_on
        line.expires_on = line.expires_on or contract.expires_on
    for name in ("active_on", "expires_on"):
        if getattr(line, name) is None:
            raise ValidationFailed.field(name, "a contract line needs its dates")
    check_within(contract, line)
    _check_allotments(contract, line)
    for name in ("price", "discount"):
        if getattr(line, name) is None:  # null in a PATCH: back to none
            setattr(line, name, ZERO)
        if getattr(line, name) < 0:
            raise ValidationFailed.field(name, "cannot be negative")
    if line.discount > line.price:
        raise ValidationFailed.field("discount", f"the discount {line.discount} exceeds the price {line.price}")
    line.net = line.price - line.discount


def check_within(contract: Contract, line: ContractLine) -> None:
    if line.expires_on < line.active_on:
        raise ValidationFailed.field("expires_on", f"comes before active_on {line.active_on}")
    if line.active_on < contract.active_on or line.expires_on > contract.expires_on:
        field = "active_on" if line.active_on < contract.active_on else "expires_on"
        raise ValidationFailed.field(field, f"a line lies within its contract's dates, {contract.active_on} to "
                                     f"{contract.expires_on}")


def _check_allotments(contract: Contract, line: ContractLine) -> None:
    kind = ks.ALLOTMENT_TYPE[contract.allotment_type]
    if not counts_allotments(contract):
        if line.total_allotments is not None:
            raise ValidationFailed.field("total_allotments", f"a {kind} contract counts no allotments; leave it out")
        return
    if line.total_allotments is None or line.total_allotments <= 0:
        raise ValidationFailed.field(
            "total_allotments", f"a {kind} contract needs the {UNIT_WORDS[contract.allotment_type]} each line "
            "allows: more than 0")


def recompute(contract: Contract) -> None:
    """The contract's totals from its lines (Dynamics: totalprice, totaldiscount, netprice)."""
    price = sum((x.price for x in contract.lines), ZERO)
    discount = sum((x.discount for x in contract.lines), ZERO)
    for name, value in (("total_price", price), ("total_discount", discount), ("net_price", price - discount)):
        column_limits.check(Contract.__table__.c[name], value, "price")
        setattr(contract, name, value)


def copy_for_renewal(source: Contract, target: Contract, shift: timedelta) -> None:
    """The lines of a renewal: the same terms, moved by `shift`, fresh usage. Canceled lines stay behind."""
    for line in source.lines:
        if line.statecode == ks.LINE_CANCELED:
            continue
        copy = new_line(target)
        for name in ("title", "product_id", "total_allotments", "price", "discount", "net"):
            setattr(copy, name, getattr(line, name))
        copy.active_on, copy.expires_on = line.active_on + shift, line.expires_on + shift
        target.lines.append(copy)


def check_dates_hold_lines(contract: Contract) -> None:
    """A draft contract's new dates must still hold its lines (they are not moved behind the user's back)."""
    for line in contract.lines:
        if line.active_on < contract.active_on or line.expires_on > contract.expires_on:
            field = "active_on" if line.active_on < contract.active_on else "expires_on"
            raise ValidationFailed.field(
                field, f"line {line.line_number} {line.title!r} runs from {line.active_on} to {line.expires_on}, "
                "outside these dates; change the line first")


# --- using lines -------------------------------------------------------------------------------------
def describe(line: ContractLine) -> str:
    return f"contract line {line.line_number} {line.title!r}"


def line_problem(contract: Contract, line: ContractLine, on: date) -> str | None:
    """Why this line cannot carry a case on `on` (expired, not started, canceled, exhausted), or None."""
    name = describe(line)
    if line.statecode == ks.LINE_EXPIRED or line.expires_on < on:
        return f"{name} expired on {line.expires_on}"
    if line.statecode != ks.LINE_EXISTING:
        return f"{name} is {ks.LINE.state(line.statecode).name}"
    if line.active_on > on:
        return f"{name} starts on {line.active_on}"
    if counts_allotments(contract) and exhausted(line):
        unit = UNIT_WORDS[contract.allotment_type]
        return f"{name} is exhausted: {line.allotments_used} of {line.total_allotments} {unit} used"
    return None


def exhausted(line: ContractLine) -> bool:
    return line.total_allotments is not None and line.allotments_used >= line.total_allotments


def take(line: ContractLine, amount: int) -> None:
    """Adds `amount` to what the line used; past its allotment, the excess is overage."""
    line.allotments_used += amount
    _set_overage(line)


def give(line: ContractLine, amount: int) -> None:
    line.allotments_used = max(line.allotments_used - amount, 0)
    _set_overage(line)


def _set_overage(line: ContractLine) -> None:
    total = line.total_allotments
    line.allotments_overage = max(line.allotments_used - total, 0) if total is not None else 0
