"""Every ORM model, imported here so that the metadata (and Alembic) sees them all."""

from crm_core.models.activities import (
    Activity,
    ActivityParty,
    ActivityType,
    Appointment,
    CampaignActivity,
    CampaignResponse,
    CustomActivity,
    Email,
    Fax,
    Letter,
    PhoneCall,
    RecurringAppointment,
    ServiceActivity,
    Task,
)
from crm_core.models.audit import AuditEntry
from crm_core.models.autonumber import AutoNumberCounter
from crm_core.models.calendars import Calendar, CalendarConflict, CalendarQuarantine, CalendarSyncItem
from crm_core.models.case_creation_rules import CaseCreationRule, CaseCreationRuleItem, CaseRuleDecision
from crm_core.models.cases import Case, CaseResolution
from crm_core.models.catalog import PriceList, PriceListItem, Product, Unit, UnitGroup
from crm_core.models.contracts import Contract, ContractLine, ContractTemplate
from crm_core.models.customers import Account, Address, Contact, Lead
from crm_core.models.email_templates import EmailTemplate
from crm_core.models.graph_subscriptions import GraphSubscription  # noqa: F401 - mail: Graph change notifications
from crm_core.models.knowledge import KnowledgeArticle, knowledge_article_cases
from crm_core.models.lead_scoring import LeadPredictionModel, LeadScore, LeadScoringModel
from crm_core.models.mail_tracking import (
    EmailAttachment,
    FolderCheckpoint,
    MailBlob,
    MailQuarantine,
    MailSighting,
    TrackedMessage,
)
from crm_core.models.mailbox_sync import Lease, MailboxAlert, MailboxSyncRun, MailboxSyncState
from crm_core.models.mailbox_tracking_folders import MailboxTrackingFolder
from crm_core.models.mailboxes import EmailServerProfile, Mailbox
from crm_core.models.marketing import (
    Campaign,
    CampaignList,
    CampaignResponseConversion,
    MarketingList,
    MarketingListMember,
    QuickCampaign,
    QuickCampaignFailure,
)
from crm_core.models.queues import Queue, QueueItem, RoutingRule, RoutingRuleItem
from crm_core.models.resource_calendars import ResourceBooking, ResourceCalendarException, ResourceWorkHours
from crm_core.models.rules import BusinessRule, BusinessRuleRun, BusinessRuleVersion, RuleEvent, RuleScan
from crm_core.models.sales import (
    Competitor,
    Opportunity,
    OpportunityClose,
    SalesProcess,
    SalesProcessStage,
    opportunity_competitors,
)
from crm_core.models.sales_documents import Invoice, InvoiceLine, Order, OrderLine, Quote, QuoteLine
from crm_core.models.scheduling import (
    Resource,
    ResourceGroup,
    Service,
    Site,
    resource_group_groups,
    resource_group_resources,
)
from crm_core.models.security import (
    ApiToken,
    BusinessUnit,
    RecordShare,
    RolePrivilege,
    SecurityEpoch,
    SecurityRole,
    Team,
    User,
)
from crm_core.models.service_levels import (
    BusinessCalendar,
    BusinessHours,
    CalendarClosure,
    Sla,
    SlaItem,
    SlaKpiInstance,
)
from crm_core.models.subjects import Subject
from crm_core.models.webhooks import Webhook, WebhookAttempt, WebhookDelivery

__all__ = [
    "Account", "Activity", "ActivityParty", "ActivityType", "Address", "ApiToken", "Appointment",
    "AuditEntry", "BusinessUnit", "CampaignActivity", "CampaignResponse", "Contact", "CustomActivity",
    "Email", "Fax", "Lead", "Letter", "PhoneCall", "RecordShare", "RecurringAppointment", "RolePrivilege",
    "SecurityEpoch", "SecurityRole", "ServiceActivity", "Subject", "Task", "Team", "User",
]
__all__ += ["Case", "CaseResolution", "Queue", "QueueItem", "RoutingRule", "RoutingRuleItem"]  # service
__all__ += ["Competitor", "Opportunity", "OpportunityClose", "SalesProcess", "SalesProcessStage",
            "opportunity_competitors"]  # sales: opportunities, competitors, processes
__all__ += ["Campaign", "CampaignList", "CampaignResponseConversion", "MarketingList", "MarketingListMember",
            "QuickCampaign", "QuickCampaignFailure"]  # marketing: lists, campaigns, quick campaigns
__all__ += ["AutoNumberCounter", "Invoice", "InvoiceLine", "Order", "OrderLine", "PriceList", "PriceListItem",
            "Product", "Quote", "QuoteLine", "Unit", "UnitGroup"]  # sales: catalogue, quotes, orders, invoices
__all__ += ["ResourceBooking", "ResourceCalendarException", "ResourceWorkHours"]
__all__ += ["KnowledgeArticle", "Resource", "ResourceGroup", "Service", "Site", "knowledge_article_cases",
            "resource_group_groups", "resource_group_resources"]  # service: knowledge, scheduling records
__all__ += ["BusinessCalendar", "BusinessHours", "CalendarClosure", "Contract", "ContractLine", "ContractTemplate",
            "Sla", "SlaItem", "SlaKpiInstance"]  # service: business hours, service levels, contracts
__all__ += ["EmailServerProfile", "Mailbox"]  # mail: server profiles and mailboxes
__all__ += ["MailboxTrackingFolder"]  # mail: folder-level tracking rules
__all__ += ["Lease", "MailboxAlert", "MailboxSyncRun", "MailboxSyncState"]  # the workers: sync state, runs, alerts
__all__ += ["Calendar", "CalendarConflict", "CalendarQuarantine", "CalendarSyncItem"]  # calendar sync
__all__ += ["EmailAttachment", "FolderCheckpoint", "MailBlob", "MailQuarantine", "MailSighting",
            "TrackedMessage"]  # mail: tracking
__all__ += ["CaseCreationRule", "CaseCreationRuleItem", "CaseRuleDecision"]  # mail: email-to-case rules
__all__ += ["EmailTemplate", "Webhook", "WebhookAttempt", "WebhookDelivery"]  # automation: templates, webhooks
__all__ += ["BusinessRule", "BusinessRuleRun", "BusinessRuleVersion", "RuleEvent", "RuleScan"]  # automation: rules
__all__ += ["LeadPredictionModel", "LeadScore", "LeadScoringModel"]  # analytics: lead scoring
