"""How cases use contracts: the contract line a case is opened under, and the allotment its resolution
consumes. Placeholder until contracts land: every hook is a no-op."""

from sqlalchemy.orm import Session

from crm_core.models import Case, CaseResolution


def check_for_case(session: Session, case: Case) -> None:
    """The case's contract and contract line are usable for it (active, the case's customer, in date, with
    allotments left), or a clear error."""


def consume(session: Session, case: Case, resolution: CaseResolution) -> None:
    """Resolving the case takes its allotment from the contract line and records it on the resolution."""


def give_back(session: Session, resolution: CaseResolution) -> None:
    """The case is reactivated: what its canceled resolution consumed returns to the line."""
