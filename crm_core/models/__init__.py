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
from crm_core.models.customers import Account, Address, Contact, Lead
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
from crm_core.models.subjects import Subject

__all__ = [
    "Account", "Activity", "ActivityParty", "ActivityType", "Address", "ApiToken", "Appointment",
    "AuditEntry", "BusinessUnit", "CampaignActivity", "CampaignResponse", "Contact", "CustomActivity",
    "Email", "Fax", "Lead", "Letter", "PhoneCall", "RecordShare", "RecurringAppointment", "RolePrivilege",
    "SecurityEpoch", "SecurityRole", "ServiceActivity", "Subject", "Task", "Team", "User",
]
