"""Reading a record's audit trail: it needs read on the record itself and read on the audit."""

import uuid
from collections.abc import Sequence

from sqlalchemy import select

from crm_core.models import AuditEntry
from crm_core.security.privileges import Privilege
from crm_core.services.records import RecordService


def trail(service: RecordService[object], record_id: uuid.UUID) -> Sequence[AuditEntry]:
    """Newest first. 404 unless the record is readable; 403 without the audit read privilege."""
    service.get(record_id)
    service.principal.require("audit", Privilege.READ)
    return service.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity == service.entity_name, AuditEntry.record_id == record_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id)
    ).all()
