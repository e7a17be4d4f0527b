"""The hooks every CRM session factory gets: the audit trail and the security epoch. Wire them here only."""

from sqlalchemy.orm import Session, sessionmaker

from crm_core import audit
from crm_core.security import epoch


def install(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    audit.install(factory)
    epoch.install(factory)
    return factory
