"""/accounts, /contacts and /leads."""

import uuid
from datetime import date

from crm_core.api.resource import OWNED_FILTERS, FilterField, Resource, Verb
from crm_core.api.schemas.customers import (
    AccountCreate,
    AccountOut,
    AccountUpdate,
    ContactCreate,
    ContactOut,
    ContactUpdate,
    LeadOut,
    LeadUpdate,
)
from crm_core.api.schemas.sales import LeadCreate  # with ignore_duplicates (sales: duplicate detection)
from crm_core.services.customers import AccountService, ContactService
from crm_core.services.leads import LeadService  # sales: duplicate detection and the lead lifecycle
from crm_core.services.listing import Op

_COMMON = OWNED_FILTERS
_ACTIVE_VERBS = [
    Verb("activate", 0, "Activate (statecode 0, Active)"),
    Verb("deactivate", 1, "Deactivate (statecode 1, Inactive)"),
]

RESOURCES = [
    Resource(
        "account", AccountService, AccountCreate, AccountUpdate, AccountOut, tag="accounts", verbs=_ACTIVE_VERBS,
        filters=[*_COMMON, FilterField("name", str, (Op.EQ, Op.CONTAINS)),
                 FilterField("account_number", str), FilterField("parent_account_id", uuid.UUID),
                 FilterField("email_address1", str), FilterField("industry_code", int),
                 FilterField("originating_lead_id", uuid.UUID)],
    ),
    Resource(
        "contact", ContactService, ContactCreate, ContactUpdate, ContactOut, tag="contacts", verbs=_ACTIVE_VERBS,
        filters=[*_COMMON, FilterField("full_name", str, (Op.EQ, Op.CONTAINS)), FilterField("last_name", str),
                 FilterField("parent_account_id", uuid.UUID), FilterField("email_address1", str),
                 FilterField("birth_date", date, (Op.EQ, Op.GTE, Op.LTE)),
                 FilterField("originating_lead_id", uuid.UUID)],
    ),
    Resource(
        "lead", LeadService, LeadCreate, LeadUpdate, LeadOut, tag="leads",
        filters=[*_COMMON, FilterField("subject", str, (Op.EQ, Op.CONTAINS)),
                 FilterField("company_name", str, (Op.EQ, Op.CONTAINS)), FilterField("email_address1", str),
                 FilterField("lead_quality_code", int), FilterField("lead_source_code", int),
                 FilterField("campaign_id", uuid.UUID), FilterField("qualifying_opportunity_id", uuid.UUID)],
    ),
]
