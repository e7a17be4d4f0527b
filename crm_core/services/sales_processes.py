"""Sales processes: organisation-wide, ordered stages with a close probability each, defined by admins.

The stages arrive as a list that replaces the process's stages, in the given order. A stage listed with its
`id` is kept (renamed, re-weighted, moved), so that the opportunities standing on it stay there; a stage left
out is removed, which is refused while opportunities stand on it."""

import uuid
from typing import Any, ClassVar

from sqlalchemy import func, select

from crm_core.db import column_limits
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import Opportunity, SalesProcess, SalesProcessStage
from crm_core.security.privileges import Privilege
from crm_core.services.records import RecordService

STAGE_FIELDS = ("id", "name", "probability", "sales_stage_code")
SALES_STAGE_CODES = {0: "Qualify", 1: "Develop", 2: "Propose", 3: "Close"}


class SalesProcessService(RecordService[SalesProcess]):
    """Everyone reads the processes; roles with the sales_process privileges (System Administrator) change them."""

    entity_name = "sales_process"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def apply(self, record: SalesProcess, values: dict[str, Any], creating: bool) -> None:
        values = dict(values)
        stages = values.pop("stages", None)
        with self.session.no_autoflush:  # the stage checks query; nothing half-checked is written
            super().apply(record, values, creating)
            if stages is not None or creating:
                self._set_stages(record, stages or [])

    def validate(self, record: SalesProcess, values: dict[str, Any], creating: bool) -> None:
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "a sales process needs a name")
        taken = self.session.scalar(
            select(SalesProcess.id).where(func.lower(SalesProcess.name) == record.name.lower(),
                                          SalesProcess.id != record.id)
        )
        if taken is not None:
            raise Conflict(f"a sales process named {record.name!r} exists already", field="name")

    def before_delete(self, record: SalesProcess) -> None:
        used = self.session.scalar(
            select(func.count()).select_from(Opportunity).where(Opportunity.sales_process_id == record.id)
        )
        if used:
            raise Conflict(f"{used} opportunities follow this sales process; move them to another one first")

    # --- stages ------------------------------------------------------------------------------------
    def _set_stages(self, record: SalesProcess, given: list[dict[str, Any]]) -> None:
        if not given:
            raise ValidationFailed.field("stages", "a sales process needs at least one stage")
        current = {stage.id: stage for stage in record.stages}
        names: set[str] = set()
        kept: list[SalesProcessStage] = []
        for position, data in enumerate(given, start=1):
            where = f"stages[{position - 1}]"
            unknown = set(data) - set(STAGE_FIELDS)
            if unknown:
                raise ValidationFailed.field(where, f"unknown fields {sorted(unknown)}")
            column_limits.check_values(SalesProcessStage, data, prefix=f"{where}.")
            name = (data.get("name") or "").strip()
            if not name:
                raise ValidationFailed.field(f"{where}.name", "a stage needs a name")
            if name.lower() in names:
                raise ValidationFailed.field(f"{where}.name", f"{name!r} is listed twice")
            names.add(name.lower())
            probability = data.get("probability")
            if not isinstance(probability, int) or not 0 <= probability <= 100:
                raise ValidationFailed.field(f"{where}.probability", "a whole percentage from 0 to 100")
            code = data.get("sales_stage_code")
            if code is not None and code not in SALES_STAGE_CODES:
                allowed = ", ".join(f"{k} {v}" for k, v in SALES_STAGE_CODES.items())
                raise ValidationFailed.field(f"{where}.sales_stage_code", f"one of {allowed}")
            stage = self._stage_for(current, data.get("id"), where, kept)
            stage.position, stage.name, stage.probability, stage.sales_stage_code = position, name, probability, code
            kept.append(stage)
        removed = [stage for stage in record.stages if stage not in kept]
        self._refuse_removing_used(removed)
        record.stages[:] = kept

    def _stage_for(self, current: dict[uuid.UUID, SalesProcessStage], stage_id: Any, where: str,
                   kept: list[SalesProcessStage]) -> SalesProcessStage:
        if stage_id is None:
            return SalesProcessStage(id=uuid.uuid4())
        if stage_id not in current:
            raise ValidationFailed.field(f"{where}.id", f"no stage {stage_id} in this sales process")
        stage = current[stage_id]
        if stage in kept:
            raise ValidationFailed.field(f"{where}.id", f"stage {stage_id} is listed twice")
        return stage

    def _refuse_removing_used(self, removed: list[SalesProcessStage]) -> None:
        for stage in removed:
            used = self.session.scalar(
                select(func.count()).select_from(Opportunity).where(Opportunity.stage_id == stage.id)
            )
            if used:
                raise Conflict(f"{used} opportunities stand on stage {stage.name!r}; move them to another stage "
                               "before removing it", field="stages")

    # --- for opportunities -------------------------------------------------------------------------
    def readable(self, process_id: uuid.UUID, field: str) -> SalesProcess:
        """A process an opportunity may follow: it exists and the caller may read processes."""
        self.principal.require(self.entity_name, Privilege.READ)
        process = self.session.get(SalesProcess, process_id)
        if process is None:
            raise ValidationFailed.field(field, f"no sales process with id {process_id}")
        return process
