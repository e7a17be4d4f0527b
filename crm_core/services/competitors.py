"""Competitors: organisation-wide records with strengths and weaknesses (Dynamics' competitor), linked to the
opportunities they compete for (see OpportunityService.link_competitor)."""

import uuid
from typing import Any, ClassVar

from crm_core.errors import ValidationFailed
from crm_core.models import Competitor
from crm_core.security.privileges import Privilege
from crm_core.services.records import RecordService


class CompetitorService(RecordService[Competitor]):
    """Everyone reads competitors; roles with the competitor privileges (System Administrator) keep them.
    Deleting one unlinks it from its opportunities; the close records that named it keep no competitor."""

    entity_name = "competitor"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def validate(self, record: Competitor, values: dict[str, Any], creating: bool) -> None:
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "a competitor needs a name")

    def readable(self, competitor_id: uuid.UUID, field: str) -> Competitor:
        """A competitor to name on an opportunity: it exists and the caller may read competitors."""
        self.principal.require(self.entity_name, Privilege.READ)
        competitor = self.session.get(Competitor, competitor_id)
        if competitor is None:
            raise ValidationFailed.field(field, f"no competitor with id {competitor_id}")
        return competitor
