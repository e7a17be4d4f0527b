"""Leads through their sales lifecycle (DOMAIN.md §2): duplicate detection on create, qualify (creating the
account, contact and opportunity asked for, in one transaction), disqualify with a reason, reactivate.

Choices where Dynamics leaves room:
- Duplicate detection follows Dynamics' published rules "leads with the same e-mail address" (against the
  email columns of leads, contacts and accounts) and "same company name and last name" (among leads), case
  blind, over the records the caller can read, in every state. Create answers 409 with the candidates unless
  the body says `ignore_duplicates: true` (the dialog's "Ignore and save"); `POST /leads/duplicates` checks a
  body without creating anything.
- Qualify creates what is asked (account from the company, contact from the person, linked to the new
  account), then the opportunity for the customer named, else the new account, else the new contact, else the
  lead's parent account or contact. The new records belong to the caller. Setting a lead Qualified any other
  way (set-state) is refused, so that the records always come with it.
- Disqualify needs a reason (4 Lost, 5 Cannot Contact, 6 No Longer Interested, 7 Canceled); a qualified or
  disqualified lead is reactivated (Open, New) before it is qualified or disqualified again."""

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select

from crm_core.db.unit_of_work import SharedWork, UnitOfWork
from crm_core.email_addresses import normalize_field
from crm_core.entities import entity
from crm_core.errors import Conflict, Forbidden, ValidationFailed
from crm_core.models import Lead
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege
from crm_core.services import customers
from crm_core.services.opportunities import CUSTOMER_TYPES, OpportunityService
from crm_core.states import LEAD

OPEN, QUALIFIED, DISQUALIFIED = 0, 1, 2
NEW = 1
DISQUALIFY_REASONS = {4: "Lost", 5: "Cannot Contact", 6: "No Longer Interested", 7: "Canceled"}
_MAX_CANDIDATES = 20  # per entity and rule: enough to decide, never the whole table


@dataclass(frozen=True)
class Candidate:
    """A record that may be the same person or company as the lead being created."""

    entity: str
    id: uuid.UUID
    name: str
    statecode: int
    state: str
    matched_on: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"entity": self.entity, "id": str(self.id), "name": self.name, "statecode": self.statecode,
                "state": self.state, "matched_on": list(self.matched_on)}


@dataclass(frozen=True)
class QualifyOptions:
    create_account: bool = False
    create_contact: bool = False
    create_opportunity: bool = True
    customer_type: str | None = None  # an existing account or contact for the opportunity
    customer_id: uuid.UUID | None = None
    currency_code: str | None = None
    opportunity_name: str | None = None


@dataclass
class Qualified:
    lead: Lead
    account_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    opportunity_id: uuid.UUID | None = None
    created: list[str] = field(default_factory=list)





class LeadService(customers.LeadService):
    """The lead record service of crm_core.services.customers, with duplicate detection and the lifecycle."""

    def __init__(self, uow: UnitOfWork, principal: Principal) -> None:
        super().__init__(uow, principal)
        self._detect_duplicates = False

    # --- create with duplicate detection -----------------------------------------------------------
    def create(self, values: dict[str, Any], owner: Any = None) -> Lead:
        values = dict(values)
        self._detect_duplicates = not values.pop("ignore_duplicates", False)
        return super().create(values, owner)

    def validate(self, record: Lead, values: dict[str, Any], creating: bool) -> None:
        super().validate(record, values, creating)
        if creating and self._detect_duplicates:
            found = self._candidates(record.email_address1, record.company_name, record.last_name, record.id)
            if found:
                raise Conflict(
                    f"{len(found)} possible duplicates of this lead exist; check them, or send "
                    "ignore_duplicates: true to create it anyway",
                    duplicates=[c.as_json() for c in found],
                )

    def duplicates(self, values: dict[str, Any]) -> list[Candidate]:
        """The records a lead with these values would duplicate; nothing is written."""
        self.principal.require(self.entity_name, Privilege.READ)
        email = normalize_field("email_address1", values.get("email_address1"))
        return self._candidates(email, values.get("company_name"), values.get("last_name"), None)

    def _candidates(self, email: str | None, company: str | None, last_name: str | None,
                    exclude_id: uuid.UUID | None) -> list[Candidate]:
        found: dict[tuple[str, uuid.UUID], Candidate] = {}

        def add(entity_name: str, rows: Any, rule: tuple[str, ...]) -> None:
            states = entity(entity_name).states
            for row_id, name, statecode, statuscode in rows:
                if row_id == exclude_id:
                    continue
                key = (entity_name, row_id)
                previous = found.get(key)
                matched = rule if previous is None else (*previous.matched_on, *rule)
                found[key] = Candidate(entity_name, row_id, str(name), statecode,
                                       states.label(statecode, statuscode)[0], matched)

        if email:
            for entity_name in ("lead", "contact", "account"):
                spec = entity(entity_name)
                readable = self._readable(spec.name)
                if readable is None:
                    continue
                model = spec.model
                same = or_(*(getattr(model, column) == email for column in spec.email_columns))
                add(entity_name, self.session.execute(
                    select(model.id, getattr(model, spec.display_column), model.statecode, model.statuscode)
                    .where(same, readable).order_by(model.created_on).limit(_MAX_CANDIDATES)
                ), ("email",))
        company, last_name = (company or "").strip().lower(), (last_name or "").strip().lower()
        if company and last_name:
            add("lead", self.session.execute(
                select(Lead.id, Lead.subject, Lead.statecode, Lead.statuscode)
                .where(func.lower(Lead.company_name) == company, func.lower(Lead.last_name) == last_name,
                       access.scope(self.principal, self.spec, Privilege.READ))
                .order_by(Lead.created_on).limit(_MAX_CANDIDATES)
            ), ("company_name", "last_name"))
        return list(found.values())

    def _readable(self, entity_name: str) -> Any:
        """The caller's read scope on an entity, or None if he may not read it at all (it is then skipped)."""
        try:
            return access.scope(self.principal, entity(entity_name), Privilege.READ)
        except Forbidden:
            return None

    # --- lifecycle ---------------------------------------------------------------------------------
    def set_state(self, record_id: uuid.UUID, statecode: int, statuscode: int | None,
                  action: str = "set_state") -> Lead:
        if statecode == QUALIFIED and action != "qualify":
            raise ValidationFailed.field("statecode", "a lead is qualified with POST /leads/{id}/qualify, which "
                                                      "creates its opportunity, account or contact")
        return super().set_state(record_id, statecode, statuscode, action)

    def disqualify(self, record_id: uuid.UUID, statuscode: int) -> Lead:
        if statuscode not in DISQUALIFY_REASONS:
            allowed = ", ".join(f"{k} {v}" for k, v in DISQUALIFY_REASONS.items())
            raise ValidationFailed.field("statuscode", f"the reason: one of {allowed}")
        record = self.get(record_id, Privilege.WRITE)
        if record.statecode == DISQUALIFIED:
            raise Conflict("this lead is disqualified already; reactivate it to change the reason")
        return self.set_state(record_id, DISQUALIFIED, statuscode, action="disqualify")

    def reactivate(self, record_id: uuid.UUID) -> Lead:
        record = self.get(record_id, Privilege.WRITE)
        if record.statecode == OPEN:
            raise Conflict("this lead is open")
        return self.set_state(record_id, OPEN, NEW, action="reactivate")

    def qualify(self, record_id: uuid.UUID, options: QualifyOptions) -> Qualified:
        lead = self.get(record_id, Privilege.WRITE)
        # One qualification at a time: a concurrent one waits here, then finds the lead qualified.
        self.session.refresh(lead, with_for_update=True)
        if lead.statecode == QUALIFIED:
            raise Conflict("this lead is qualified already; reactivate it to qualify it again")
        LEAD.check_transition(lead.statecode, QUALIFIED)  # a disqualified lead is reactivated first
        self._check_options(options)
        self.uow.set_action("qualify")
        work = SharedWork(self.uow)
        result = Qualified(lead)
        links: dict[str, Any] = {}
        if options.create_account:
            account = customers.AccountService(work, self.principal).create(self._account_values(lead))
            result.account_id = links["parent_account_id"] = account.id
            result.created.append("account")
        if options.create_contact:
            parent = result.account_id or lead.parent_account_id
            contact = customers.ContactService(work, self.principal).create(self._contact_values(lead, parent))
            result.contact_id = links["parent_contact_id"] = contact.id
            result.created.append("contact")
            if options.create_account:
                # Dynamics makes the new contact the new account's primary contact.
                customers.AccountService(work, self.principal).update(account.id, {"primary_contact_id": contact.id})
        if options.create_opportunity:
            kind, customer_id = self._opportunity_customer(lead, options, result)
            opportunity = OpportunityService(work, self.principal).create({
                "name": options.opportunity_name or lead.subject, "customer_type": kind,
                "customer_id": customer_id, "currency_code": options.currency_code,
                "estimated_value": lead.estimated_amount, "description": lead.description,
                "originating_lead_id": lead.id,
            })
            result.opportunity_id = links["qualifying_opportunity_id"] = opportunity.id
            result.created.append("opportunity")
        self.apply(lead, links, creating=False)
        lead.statecode, lead.statuscode = LEAD.resolve(QUALIFIED, None)
        self.session.flush()
        self.uow.commit()
        return result

    # --- qualify's parts ---------------------------------------------------------------------------
    @staticmethod
    def _check_options(options: QualifyOptions) -> None:
        if (options.customer_type is None) != (options.customer_id is None):
            missing = "customer_type" if options.customer_type is None else "customer_id"
            raise ValidationFailed.field(missing, "give customer_type and customer_id together")
        if options.customer_type is not None:
            if not options.create_opportunity:
                raise ValidationFailed.field("customer_id", "names the customer of the opportunity; "
                                                            "it needs create_opportunity")
            if options.customer_type not in CUSTOMER_TYPES:
                raise ValidationFailed.field("customer_type", "account or contact")
        if options.create_opportunity and options.currency_code is None:
            raise ValidationFailed.field("currency_code", "the opportunity's currency (ISO 4217, such as EUR)")

    @staticmethod
    def _account_values(lead: Lead) -> dict[str, Any]:
        if not (lead.company_name or "").strip():
            raise ValidationFailed.field("create_account", "the lead has no company name to make an account of")
        return {"name": lead.company_name, "email_address1": lead.email_address1, "telephone1": lead.telephone1,
                "website_url": lead.website_url, "originating_lead_id": lead.id}

    @staticmethod
    def _contact_values(lead: Lead, parent_account_id: uuid.UUID | None) -> dict[str, Any]:
        if not (lead.last_name or "").strip():
            raise ValidationFailed.field("create_contact", "the lead has no last name to make a contact of")
        return {"first_name": lead.first_name, "last_name": lead.last_name, "job_title": lead.job_title,
                "email_address1": lead.email_address1, "telephone1": lead.telephone1,
                "parent_account_id": parent_account_id, "originating_lead_id": lead.id}

    @staticmethod
    def _opportunity_customer(lead: Lead, options: QualifyOptions, result: Qualified) -> tuple[str, uuid.UUID]:
        if options.customer_type is not None and options.customer_id is not None:
            return options.customer_type, options.customer_id
        for kind, record_id in (("account", result.account_id), ("contact", result.contact_id),
                                ("account", lead.parent_account_id), ("contact", lead.parent_contact_id)):
            if record_id is not None:
                return kind, record_id
        raise ValidationFailed.field("customer_id", "the opportunity needs a customer: create an account or a "
                                                    "contact, or name an existing one")

