"""The registry of CRM entities: one place that names each entity, its collection, model, ownership and
states. Security, audit, "regarding" links and the timeline look entities up here; later modules register
theirs (opportunity, case...) the same way."""

import functools
from dataclasses import dataclass
from typing import Any

from crm_core.errors import ValidationFailed
from crm_core.states import ACTIVE_INACTIVE, LEAD, StateModel


@dataclass(frozen=True)
class EntitySpec:
    name: str  # logical name, as privileges and "regarding" use it: "account"
    collection: str  # REST collection: "accounts"
    model: type[Any]
    # "user": owned by a user or team, through whom a business unit owns it;
    # "unit": belongs to a business unit (users, teams, units themselves); "org": organisation-wide.
    ownership: str = "user"
    states: StateModel | None = None
    activity_enabled: bool = False  # may be the "regarding" of an activity, and has a timeline
    email_columns: tuple[str, ...] = ()  # columns that resolve an email address to this record
    display_column: str = "name"
    # For "unit" entities: the column naming the unit, and the column that means "mine" at user depth.
    unit_column: str = "owning_business_unit_id"
    self_column: str | None = None


_REGISTRY: dict[str, EntitySpec] = {}


def register(spec: EntitySpec) -> EntitySpec:
    _REGISTRY[spec.name] = spec
    _entity_of_class.cache_clear()
    return spec


def entity(name: str) -> EntitySpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValidationFailed.field("entity", f"unknown entity {name!r}") from None


def by_collection(collection: str) -> EntitySpec:
    for spec in _REGISTRY.values():
        if spec.collection == collection:
            return spec
    raise ValidationFailed.field("collection", f"unknown collection {collection!r}")


def all_entities() -> list[EntitySpec]:
    return list(_REGISTRY.values())


def regarding_entity(name: str) -> EntitySpec:
    spec = entity(name)
    if not spec.activity_enabled:
        raise ValidationFailed.field("regarding_type", f"{name} cannot be the regarding record of an activity")
    return spec


def entity_of(record: Any) -> EntitySpec:
    return _entity_of_class(type(record))


@functools.cache
def _entity_of_class(cls: type) -> EntitySpec:
    # Called for every record rendered or audited; the registry is fixed once modules are imported.
    for spec in _REGISTRY.values():
        if issubclass(cls, spec.model):
            return spec
    raise LookupError(cls.__name__)


def _register_core() -> None:
    from crm_core import models as m

    register(EntitySpec("business_unit", "business-units", m.BusinessUnit, ownership="unit", unit_column="id"))
    register(EntitySpec(
        "user", "users", m.User, ownership="unit", unit_column="business_unit_id", self_column="id",
        email_columns=("email",), display_column="full_name",
    ))
    register(EntitySpec("team", "teams", m.Team, ownership="unit", unit_column="business_unit_id"))
    register(EntitySpec("security_role", "security-roles", m.SecurityRole, ownership="org"))
    register(EntitySpec("subject", "subjects", m.Subject, ownership="org", display_column="title"))
    register(EntitySpec("activity_type", "activity-types", m.ActivityType, ownership="org",
                        display_column="display_name"))
    register(EntitySpec("audit", "audit", m.AuditEntry, ownership="org", display_column="action"))
    register(EntitySpec(
        "account", "accounts", m.Account, states=ACTIVE_INACTIVE, activity_enabled=True,
        email_columns=("email_address1", "email_address2", "email_address3"),
    ))
    register(EntitySpec(
        "contact", "contacts", m.Contact, states=ACTIVE_INACTIVE, activity_enabled=True,
        email_columns=("email_address1", "email_address2", "email_address3"), display_column="full_name",
    ))
    register(EntitySpec(
        "lead", "leads", m.Lead, states=LEAD, activity_enabled=True,
        email_columns=("email_address1",), display_column="subject",
    ))
    # activitypointer's states; each type's own states and status reasons are in activity_catalogue.
    from crm_core.activity_catalogue import POINTER_STATES

    register(EntitySpec("activity", "activities", m.Activity, states=POINTER_STATES, display_column="subject"))
    # Service (DOMAIN.md §8, §9): cases take activities; queues receive mail at their address.
    from crm_core import case_states

    register(EntitySpec("case", "cases", m.Case, states=case_states.CASE, activity_enabled=True,
                        display_column="title"))
    register(EntitySpec("queue", "queues", m.Queue, states=case_states.QUEUE, email_columns=("email_address",)))
    register(EntitySpec("routing_rule", "routing-rules", m.RoutingRule, ownership="org",
                        states=case_states.ROUTING_RULE))
    # Sales (DOMAIN.md §3): opportunities take activities; competitors and sales processes are organisation-wide.
    from crm_core import sales_states

    register(EntitySpec("opportunity", "opportunities", m.Opportunity, states=sales_states.OPPORTUNITY,
                        activity_enabled=True))
    register(EntitySpec("competitor", "competitors", m.Competitor, ownership="org"))
    register(EntitySpec("sales_process", "sales-processes", m.SalesProcess, ownership="org"))
    # Marketing (DOMAIN.md §7): lists, campaigns and quick campaigns are user-owned and take activities.
    from crm_core import marketing_states

    register(EntitySpec("marketing_list", "marketing-lists", m.MarketingList, states=marketing_states.LIST_STATES,
                        activity_enabled=True))
    register(EntitySpec("campaign", "campaigns", m.Campaign, states=marketing_states.CAMPAIGN_STATES,
                        activity_enabled=True))
    register(EntitySpec("quick_campaign", "quick-campaigns", m.QuickCampaign,
                        states=marketing_states.QUICK_CAMPAIGN_STATES, activity_enabled=True))
    # Sales (DOMAIN.md §4-§6): the catalogue is organisation-wide; quotes, orders and invoices take activities.
    from crm_core import catalog_states, sales_document_states

    register(EntitySpec("unit_group", "unit-groups", m.UnitGroup, ownership="org", states=catalog_states.UNIT_GROUP))
    register(EntitySpec("product", "products", m.Product, ownership="org", states=catalog_states.PRODUCT))
    register(EntitySpec("price_list", "price-lists", m.PriceList, ownership="org", states=catalog_states.PRICE_LIST))
    register(EntitySpec("quote", "quotes", m.Quote, states=sales_document_states.QUOTE, activity_enabled=True))
    register(EntitySpec("order", "orders", m.Order, states=sales_document_states.ORDER, activity_enabled=True))
    register(EntitySpec("invoice", "invoices", m.Invoice, states=sales_document_states.INVOICE,
                        activity_enabled=True))
    # Service scheduling and knowledge (DOMAIN.md §9, §11): sites and services are organisation-wide,
    # resources and resource groups belong to a business unit, knowledge articles are user-owned.
    from crm_core.knowledge_states import KNOWLEDGE_ARTICLE

    register(EntitySpec("site", "sites", m.Site, ownership="org"))
    register(EntitySpec("resource", "resources", m.Resource, ownership="unit", unit_column="business_unit_id",
                        self_column="user_id"))
    register(EntitySpec("resource_group", "resource-groups", m.ResourceGroup, ownership="unit",
                        unit_column="business_unit_id"))
    register(EntitySpec("service", "services", m.Service, ownership="org"))
    register(EntitySpec("knowledge_article", "knowledge-articles", m.KnowledgeArticle, states=KNOWLEDGE_ARTICLE,
                        display_column="title"))

    # Service levels and contracts (DOMAIN.md §9, §10): calendars, SLAs and contract templates are the
    # organisation's; contracts are user-owned and take activities.
    from crm_core import contract_states

    register(EntitySpec("business_calendar", "business-calendars", m.BusinessCalendar, ownership="org"))
    register(EntitySpec("sla", "slas", m.Sla, ownership="org", states=case_states.SLA))
    register(EntitySpec("contract_template", "contract-templates", m.ContractTemplate, ownership="org",
                        states=contract_states.TEMPLATE))
    register(EntitySpec("contract", "contracts", m.Contract, states=contract_states.CONTRACT, activity_enabled=True,
                        display_column="title"))

    # Mail (issue 4): server profiles are the organisation's; a mailbox sits in its owner's business unit and
    # "mine" is the user whose mailbox it is (a queue's mailbox is the admins' alone).
    register(EntitySpec("email_server_profile", "email-server-profiles", m.EmailServerProfile, ownership="org",
                        states=ACTIVE_INACTIVE))
    register(EntitySpec("mailbox", "mailboxes", m.Mailbox, ownership="unit", unit_column="business_unit_id",
                        self_column="user_id"))
    # Calendar sync (issue 6): a calendar is its user's, in his business unit, as his mailbox is.
    register(EntitySpec("calendar", "calendars", m.Calendar, ownership="unit", unit_column="business_unit_id",
                        self_column="user_id"))
    # Mail tracking: messages the pipeline could not read, with their raw bytes; administrators read them.
    register(EntitySpec("mail_quarantine", "quarantine", m.MailQuarantine, ownership="org", display_column="reason"))
    # Email-to-case: automatic record creation rules on queue mailboxes, kept by administrators.
    register(EntitySpec("case_creation_rule", "case-creation-rules", m.CaseCreationRule, ownership="org",
                        states=case_states.ROUTING_RULE))
    # Automation (issue 11): email templates are user-owned (everyone reads them); webhooks are the admins'.
    register(EntitySpec("email_template", "email-templates", m.EmailTemplate))
    register(EntitySpec("webhook", "webhooks", m.Webhook, ownership="org"))
    # Business rules run as their owner (a user), so they are user-owned; administrators keep them.
    register(EntitySpec("business_rule", "rules", m.BusinessRule))
    # Lead scoring (issue 11): the administrators' weighted rules; the scores themselves are read through leads.
    register(EntitySpec("lead_scoring_model", "lead-scoring-models", m.LeadScoringModel, ownership="org"))


_register_core()
