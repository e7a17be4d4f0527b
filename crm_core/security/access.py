"""Access checks: which records a principal reaches with a privilege, as a SQL condition and for one record.

Reach by depth, as Dynamics has it: User = records owned by the caller or his teams (and shared with them);
Business Unit = also those owned in his unit; Parent: Child = his unit and all below; Organization = all.
Records beyond reach answer 404 (their existence is not disclosed); a missing privilege answers 403."""

import uuid
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from crm_core.entities import EntitySpec
from crm_core.errors import Forbidden
from crm_core.models import RecordShare
from crm_core.security.principal import Principal
from crm_core.security.privileges import SHARE_BITS, Depth, Privilege


def scope(principal: Principal, spec: EntitySpec, privilege: Privilege) -> ColumnElement[bool]:
    """The SQL condition selecting the records of `spec` that `principal` reaches with `privilege`."""
    depth = principal.require(spec.name, privilege)
    if depth >= Depth.ORGANIZATION or spec.ownership == "org":
        return true()
    model = spec.model
    if spec.ownership == "unit":
        unit_col = getattr(model, spec.unit_column)
        mine: ColumnElement[bool]
        if spec.self_column:
            mine = getattr(model, spec.self_column).in_(principal.principal_ids)
        else:
            mine = unit_col == principal.business_unit_id
        conds = [mine]
    else:
        conds = [model.owning_user_id == principal.user_id]
        if principal.team_ids:
            conds.append(model.owning_team_id.in_(principal.team_ids))
        conds.append(
            model.id.in_(
                select(RecordShare.record_id).where(
                    RecordShare.entity == spec.name,
                    RecordShare.principal_id.in_(principal.principal_ids),
                    RecordShare.access_mask.op("&")(SHARE_BITS[privilege]) != 0,
                )
            )
        )
        unit_col = model.owning_business_unit_id
    if depth >= Depth.PARENT_CHILD:
        conds.append(unit_col.in_(principal.unit_and_below))
    elif depth >= Depth.BUSINESS_UNIT:
        conds.append(unit_col == principal.business_unit_id)
    return or_(*conds) if conds else false()


def reaches(session: Session, principal: Principal, spec: EntitySpec, privilege: Privilege, record: Any) -> bool:
    """Whether `principal` reaches this one record with `privilege` (the Python twin of `scope`)."""
    depth = principal.require(spec.name, privilege)
    if depth >= Depth.ORGANIZATION or spec.ownership == "org":
        return True
    if spec.ownership == "unit":
        unit = getattr(record, spec.unit_column)
        if spec.self_column:
            if getattr(record, spec.self_column) in principal.principal_ids:
                return True
        elif unit == principal.business_unit_id:
            return True
    else:
        if record.owning_user_id == principal.user_id or record.owning_team_id in principal.team_ids:
            return True
        unit = record.owning_business_unit_id
    if depth >= Depth.PARENT_CHILD and unit in principal.unit_and_below:
        return True
    if depth >= Depth.BUSINESS_UNIT and unit == principal.business_unit_id:
        return True
    if spec.ownership != "user":
        return False
    return shared_with(session, principal, spec, record.id, privilege)


def shared_with(
    session: Session, principal: Principal, spec: EntitySpec, record_id: uuid.UUID, privilege: Privilege
) -> bool:
    mask = session.execute(
        select(RecordShare.access_mask).where(
            RecordShare.entity == spec.name,
            RecordShare.record_id == record_id,
            RecordShare.principal_id.in_(principal.principal_ids),
        )
    ).scalars()
    return any(m & SHARE_BITS[privilege] for m in mask)


def require(session: Session, principal: Principal, spec: EntitySpec, privilege: Privilege, record: Any) -> None:
    if not reaches(session, principal, spec, privilege, record):
        raise Forbidden(
            f"your security roles do not reach this {spec.name} with the {privilege.value} privilege",
            entity=spec.name, privilege=privilege.value,
        )


def owner_in_reach(principal: Principal, depth: Depth, owner_user_id: uuid.UUID | None,
                   owner_team_id: uuid.UUID | None, owner_unit_id: uuid.UUID) -> bool:
    """Whether a record owned like this is within `depth` of the caller (for create and assign)."""
    if principal.is_system or depth >= Depth.ORGANIZATION:
        return True
    if owner_user_id == principal.user_id or (owner_team_id and owner_team_id in principal.team_ids):
        return depth >= Depth.USER
    if depth >= Depth.PARENT_CHILD:
        return owner_unit_id in principal.unit_and_below
    if depth >= Depth.BUSINESS_UNIT:
        return owner_unit_id == principal.business_unit_id
    return False
