"""The hooks every CRM session factory gets: the audit trail, the security epoch, the webhook outbox and the rule
event outbox (both read the audit entries, so they come after). Wire them here only."""

from sqlalchemy.orm import Session, sessionmaker

from crm_core import audit, webhook_events
from crm_core.automation import events as rule_events
from crm_core.security import epoch


def install(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    audit.install(factory)
    epoch.install(factory)
    webhook_events.install(factory)
    rule_events.install(factory)
    return factory
