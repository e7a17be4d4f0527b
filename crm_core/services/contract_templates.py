"""Contract templates (Dynamics' contracttemplate, DOMAIN.md §10): the organisation's kinds of service
contract. A template gives each contract made from it its allotment type (1 Number of Cases, 2 Time in
minutes, 3 Coverage Dates), billing frequency and service level; contracts copy them, so that changing a
template later does not change contracts already sold. Only an Active template makes new contracts; an
Inactive one is read-only. Admins keep templates; everyone reads them."""

from typing import Any, ClassVar

from sqlalchemy import func, select

from crm_core import contract_states as ks
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import Contract, ContractTemplate
from crm_core.services.catalog import OrgRecordService

_OPTIONS = {"allotment_type": ks.ALLOTMENT_TYPE, "billing_frequency": ks.BILLING_FREQUENCY,
            "service_level": ks.SERVICE_LEVEL}
_NAMED = 5  # contract numbers named in a refusal to delete


def check_option(name: str, value: int | None, required: bool = True) -> None:
    """An option set value, or a 422 listing the choices."""
    if value is None and not required:
        return
    choices = _OPTIONS[name]
    if value not in choices:
        raise ValidationFailed.field(name, "one of " + ", ".join(f"{k} {v}" for k, v in choices.items()))


class ContractTemplateService(OrgRecordService[ContractTemplate]):
    entity_name = "contract_template"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name", "abbreviation"}

    def validate(self, record: ContractTemplate, values: dict[str, Any], creating: bool) -> None:
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "a contract template needs a name")
        record.abbreviation = (record.abbreviation or "").strip()
        if not record.abbreviation:
            raise ValidationFailed.field("abbreviation", "a contract template needs an abbreviation")
        if creating or "abbreviation" in values:
            # Compared without case: "gs" and "GS" would read as the same template on a contract.
            taken = self.session.scalar(select(ContractTemplate.name).where(
                func.lower(ContractTemplate.abbreviation) == record.abbreviation.lower(),
                ContractTemplate.id != record.id))
            if taken is not None:
                raise Conflict(f"abbreviation {record.abbreviation!r} is taken by contract template {taken!r}")
        if record.billing_frequency is None:  # left out, or null in a PATCH: Monthly
            record.billing_frequency = 1
        check_option("allotment_type", record.allotment_type)
        check_option("billing_frequency", record.billing_frequency)
        check_option("service_level", record.service_level, required=False)

    def before_delete(self, record: ContractTemplate) -> None:
        used = self.session.scalar(
            select(func.count()).select_from(Contract).where(Contract.template_id == record.id))
        if used:
            numbers = list(self.session.scalars(
                select(Contract.contract_number).where(Contract.template_id == record.id)
                .order_by(Contract.contract_number).limit(_NAMED)))
            more = f" and {used - len(numbers)} more" if used > len(numbers) else ""
            raise Conflict(f"contract template {record.name!r} is used by {used} contracts ({', '.join(numbers)}"
                           f"{more}); deactivate it instead", contract_numbers=numbers)
