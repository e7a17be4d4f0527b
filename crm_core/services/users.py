"""Users as an administrator manages them: create, update, move to another business unit (with the records
they own), disable and enable, set their security roles. Users are never deleted, as in Dynamics: a
disabled user keeps his name on the records and the audit trail."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.db import column_limits
from crm_core.errors import Conflict, CrmError, ValidationFailed
from crm_core.models import Mailbox, Resource, User
from crm_core.security.privileges import Privilege
from crm_core.services import directory, listing
from crm_core.services.business_units import existing_unit, move_owned_records, require_unit_in_reach
from crm_core.services.organisation import root_unit
from crm_core.services.records import OwnerRef, RecordService
from crm_core.services.security_roles import SYSTEM_ADMINISTRATOR, require_roles_grantable, roles_by_id


def set_entra_identity(session: Session, user: User, tenant_id: str | uuid.UUID | None,
                       object_id: str | uuid.UUID | None) -> None:
    """Links the user to his Microsoft Entra ID account (tenant id and object id, both or neither), which one
    other user may not have (409). The Outlook add-in signs him in by this pair, never by email."""
    tenant, obj = _guid("entra_tenant_id", tenant_id), _guid("entra_object_id", object_id)
    if (tenant is None) != (obj is None):
        raise ValidationFailed.field("entra_object_id" if obj is None else "entra_tenant_id",
                                     "give the Entra tenant id and object id together, or neither")
    if tenant is not None:
        taken = session.scalar(select(User.email).where(User.entra_tenant_id == tenant,
                                                        User.entra_object_id == obj, User.id != user.id))
        if taken is not None:
            raise Conflict(f"user {taken} has this Entra ID account already", field="entra_object_id")
    user.entra_tenant_id, user.entra_object_id = tenant, obj
    session.flush()


def _guid(field: str, value: str | uuid.UUID | None) -> str | None:
    """Entra ids are GUIDs; stored in canonical lower case, as they appear in the tokens."""
    try:
        return str(uuid.UUID(str(value))) if value else None
    except ValueError:
        raise ValidationFailed.field(field, f"{value!r} is not a GUID") from None


class UsersAreNotDeleted(CrmError):
    status = 405
    title = "Method not allowed"


class UserService(RecordService[User]):
    entity_name = "user"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "full_name", "email"}

    def list(self, query: listing.ListQuery) -> listing.Page[User]:
        # Emails are stored normalised (lower case), so the filter is normalised the same way.
        filters = [listing.Filter(f.column, f.op, f.value.strip().lower())
                   if f.column == "email" and isinstance(f.value, str) else f for f in query.filters]
        return super().list(listing.ListQuery(filters=filters, sort=query.sort, cursor=query.cursor,
                                              limit=query.limit))

    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> User:
        column_limits.check_values(User, values)
        unit_id = values.get("business_unit_id")
        if unit_id is None:
            root = root_unit(self.session)
            if root is None:
                raise Conflict("the organisation has no root unit yet; run `crm db upgrade`")
            unit_id = root.id
        existing_unit(self.session, unit_id, "business_unit_id")
        require_unit_in_reach(self.principal, self.entity_name, Privilege.CREATE, unit_id, "business_unit_id")
        roles = roles_by_id(self.session, values.get("role_ids") or [])
        require_roles_grantable(self.principal, roles, "creating this user")
        user = directory.create_user(self.session, values.get("email") or "", values.get("full_name") or "",
                                     unit_id, roles)
        set_entra_identity(self.session, user, values.get("entra_tenant_id"), values.get("entra_object_id"))
        self.uow.commit()
        return user

    def apply(self, record: User, values: dict[str, Any], creating: bool) -> None:
        column_limits.check_values(User, values)
        if "email" in values:
            record.email = directory.free_email(self.session, values["email"], record.id)
        if "full_name" in values:
            name = (values["full_name"] or "").strip()
            if not name:
                raise ValidationFailed.field("full_name", "a user needs a name")
            record.full_name = name
        if "entra_tenant_id" in values or "entra_object_id" in values:
            set_entra_identity(self.session, record, values.get("entra_tenant_id", record.entra_tenant_id),
                               values.get("entra_object_id", record.entra_object_id))
        unit_id = values.get("business_unit_id")
        if unit_id is not None and unit_id != record.business_unit_id:
            self._move(record, unit_id)
        elif "business_unit_id" in values and unit_id is None:
            raise ValidationFailed.field("business_unit_id", "a user always belongs to a business unit")

    def delete(self, record_id: uuid.UUID) -> None:
        self.get(record_id)
        raise UsersAreNotDeleted(
            "users are never deleted, so that the records and the audit trail keep their names; "
            f"disable the user instead (POST /api/v1/users/{record_id}/disable)"
        )

    def set_disabled(self, user_id: uuid.UUID, disabled: bool) -> User:
        user = self.get(user_id, Privilege.WRITE)
        if user.is_disabled == disabled:
            raise Conflict(f"user {user.email} is already {'disabled' if disabled else 'enabled'}")
        if disabled and user.id == self.principal.user_id:
            raise Conflict("you cannot disable yourself")
        self.uow.set_action("disable" if disabled else "enable")
        user.is_disabled = disabled
        self.session.flush()
        self.uow.commit()
        return user

    def set_roles(self, user_id: uuid.UUID, role_ids: list[uuid.UUID]) -> User:
        """Replaces the user's roles. Each role he gains or loses must be one the caller could give: a
        lesser administrator can neither raise a user above himself nor strip a user of more than he holds."""
        user = self.get(user_id, Privilege.WRITE)
        roles = roles_by_id(self.session, role_ids)
        wanted, current = {r.id for r in roles}, {r.id for r in user.roles}
        changed = [r for r in roles if r.id not in current] + [r for r in user.roles if r.id not in wanted]
        require_roles_grantable(self.principal, changed, "this change")
        if user.id == self.principal.user_id and any(r.name == SYSTEM_ADMINISTRATOR for r in user.roles) \
                and not any(r.name == SYSTEM_ADMINISTRATOR for r in roles):
            raise Conflict(f"you cannot take the {SYSTEM_ADMINISTRATOR} role away from yourself; "
                           "ask another administrator")
        self.uow.set_action("set_roles")
        user.roles = roles
        self.session.flush()
        self.uow.commit()
        return user

    def _move(self, user: User, unit_id: uuid.UUID) -> None:
        """Moves the user and, in the same transaction, the owning business unit of every record he owns,
        as Dynamics does: his records follow him out of reach of his old colleagues. His roles stay."""
        existing_unit(self.session, unit_id, "business_unit_id")
        require_unit_in_reach(self.principal, self.entity_name, Privilege.WRITE, unit_id, "business_unit_id")
        self.uow.set_action("change_business_unit")
        user.business_unit_id = unit_id
        move_owned_records(self.session, "owning_user_id", user.id, unit_id)
        # His resource (what the service calendar books him as) is in his business unit, so it moves too.
        for resource in self.session.scalars(select(Resource).where(Resource.user_id == user.id)):
            resource.business_unit_id = unit_id
        for mailbox in self.session.scalars(select(Mailbox).where(Mailbox.user_id == user.id)):
            mailbox.business_unit_id = unit_id  # his mailbox too
