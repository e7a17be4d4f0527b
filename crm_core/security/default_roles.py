"""The security roles an organisation starts with, as Dynamics ships them (simplified to four)."""

from crm_core.security.privileges import Depth, Privilege

P = Privilege
ALL = tuple(Privilege)
ORG, DEEP, UNIT, USER = Depth.ORGANIZATION, Depth.PARENT_CHILD, Depth.BUSINESS_UNIT, Depth.USER

# Entities whose records users own; later modules add theirs to this tuple.
CUSTOMER_ENTITIES = ("account", "contact", "lead", "activity")
ADMIN_ENTITIES = ("business_unit", "user", "team", "security_role", "activity_type", "subject", "audit")
CUSTOMER_ENTITIES += ("case", "queue")  # service: cases and queues are user-owned
ADMIN_ENTITIES += ("routing_rule",)  # service: the organisation's routing rules
CUSTOMER_ENTITIES += ("opportunity",)  # sales: user-owned opportunities
ADMIN_ENTITIES += ("competitor", "sales_process")  # sales: organisation-wide, kept by admins
CUSTOMER_ENTITIES += ("marketing_list", "campaign", "quick_campaign")  # marketing: user-owned
CUSTOMER_ENTITIES += ("quote", "order", "invoice")  # sales documents: user-owned
ADMIN_ENTITIES += ("unit_group", "product", "price_list")  # sales catalogue: organisation-wide, kept by admins
CUSTOMER_ENTITIES += ("knowledge_article",)  # service: user-owned articles (drafts seen by their writers)
ADMIN_ENTITIES += ("site", "resource", "resource_group", "service")  # service scheduling: kept by admins
ADMIN_ENTITIES += ("business_calendar", "sla", "contract_template")  # service levels: kept by admins
CUSTOMER_ENTITIES += ("contract",)  # service: user-owned contracts
ADMIN_ENTITIES += ("email_server_profile", "mailbox")  # mail: configured by admins
ADMIN_ENTITIES += ("mail_quarantine",)  # mail tracking: unreadable messages, read by admins
ADMIN_ENTITIES += ("case_creation_rule",)  # email-to-case: automatic record creation rules, kept by admins
ADMIN_ENTITIES += ("calendar",)  # calendar sync: every user's calendars, for admins
CUSTOMER_ENTITIES += ("email_template",)  # automation: user-owned templates (read by all, below)
ADMIN_ENTITIES += ("webhook",)  # automation: outbound webhooks, administrators only
ADMIN_ENTITIES += ("business_rule",)  # automation: business rules, administrators and customizers only
ADMIN_ENTITIES += ("lead_scoring_model",)  # lead scoring: the weighted rules, kept by admins (read by all, below)


def _all(entities: tuple[str, ...], depth: Depth) -> dict[tuple[str, str], Depth]:
    return {(e, p.value): depth for e in entities for p in ALL}


def _owned(read: Depth, write: Depth) -> dict[tuple[str, str], Depth]:
    """Read and link at `read`, change and give away at `write`."""
    out = {}
    for e in CUSTOMER_ENTITIES:
        out.update({(e, P.READ.value): read, (e, P.APPEND.value): read, (e, P.APPEND_TO.value): read})
        out.update({(e, p.value): write for p in (P.CREATE, P.WRITE, P.DELETE, P.ASSIGN, P.SHARE)})
    return out


_DIRECTORY_READ = {("user", "read"): ORG, ("team", "read"): ORG, ("business_unit", "read"): ORG,
                   ("activity_type", "read"): ORG, ("subject", "read"): ORG}
_DIRECTORY_READ[("queue", "read")] = ORG  # service: every user sees the queues (private ones hide their items)
_DIRECTORY_READ.update({("competitor", "read"): ORG, ("sales_process", "read"): ORG})  # sales
_DIRECTORY_READ.update({(e, "read"): ORG for e in ("unit_group", "product", "price_list")})  # sales catalogue
_DIRECTORY_READ.update({(e, "read"): ORG for e in (  # service: scheduling records; every published article
    "site", "resource", "resource_group", "service", "knowledge_article")})
_DIRECTORY_READ.update({(e, "read"): ORG for e in ("business_calendar", "sla", "contract_template")})  # service
# Mail: a user reads and changes the options of his own mailbox (user_id is "mine"), nobody else's.
_DIRECTORY_READ.update({("mailbox", "read"): USER, ("mailbox", "write"): USER})
# Calendars: a user connects, changes and removes his own (user_id is "mine"), as Outlook's accounts are his.
_DIRECTORY_READ.update({("calendar", p.value): USER for p in (P.READ, P.CREATE, P.WRITE, P.DELETE)})
# Email templates: everyone reads (and inserts) everyone's, as Dynamics' organisation templates.
_DIRECTORY_READ[("email_template", "read")] = ORG
# Lead scoring: everyone may read the rules that grade his leads.
_DIRECTORY_READ[("lead_scoring_model", "read")] = ORG

DEFAULT_ROLES: dict[str, tuple[str, dict[tuple[str, str], Depth]]] = {
    "System Administrator": ("Every privilege on every entity, organisation-wide.",
                             {**_all(CUSTOMER_ENTITIES, ORG), **_all(ADMIN_ENTITIES, ORG)}),
    "Sales Manager": ("Reads and manages the records of his business unit and those below it.",
                      {**_owned(DEEP, DEEP), **_DIRECTORY_READ, ("audit", "read"): ORG}),
    "Salesperson": ("Reads the records of his business unit; changes his own.",
                    {**_owned(UNIT, USER), **_DIRECTORY_READ}),
    "Customer Service Representative": ("Reads the records of his business unit; changes his own.",
                                        {**_owned(UNIT, USER), **_DIRECTORY_READ}),
    # Automation (issue 11): keeps the organisation's templates and webhooks, as Dynamics' customizer does.
    "System Customizer": ("Keeps email templates, webhooks and business rules; reads the directory.",
                          {**_DIRECTORY_READ, **_all(("email_template", "webhook", "business_rule"), ORG)}),
}
# Lead scoring (issue 11): the customizer keeps the scoring models too, as in Dynamics.
DEFAULT_ROLES["System Customizer"][1].update(_all(("lead_scoring_model",), ORG))
