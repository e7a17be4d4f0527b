"""Personal API tokens through the API: a user lists, creates and revokes his own; an administrator (write on
users at organization depth) lists and revokes anybody's. The secret is returned once, at creation."""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.db import column_limits
from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import Forbidden, NotFound
from crm_core.models import ApiToken, User
from crm_core.security.principal import Principal
from crm_core.security.privileges import Depth, Privilege
from crm_core.services import directory
from crm_core.services.users import UserService


class ApiTokenService:
    def __init__(self, uow: UnitOfWork, principal: Principal) -> None:
        self.uow = uow
        self.principal = principal

    @property
    def session(self) -> Session:
        return self.uow.session

    # --- the caller's own --------------------------------------------------------------------------
    def list_mine(self) -> list[ApiToken]:
        return self._tokens_of(self.principal.user_id)

    def create_mine(self, name: str, days: int) -> tuple[ApiToken, str]:
        column_limits.check_values(ApiToken, {"name": name})
        user = self.session.get(User, self.principal.user_id)
        if user is None:
            raise NotFound("tokens belong to users; the system principal has none")
        row, token = directory.create_token(self.session, user, name.strip(), days)
        self.session.flush()
        self.uow.commit()
        return row, token

    def revoke_mine(self, token_id: uuid.UUID) -> ApiToken:
        return self._revoke(self.principal.user_id, token_id)

    # --- an administrator's ------------------------------------------------------------------------
    def list_for_user(self, user_id: uuid.UUID) -> list[ApiToken]:
        self._require_admin(user_id)
        return self._tokens_of(user_id)

    def revoke_for_user(self, user_id: uuid.UUID, token_id: uuid.UUID) -> ApiToken:
        self._require_admin(user_id)
        return self._revoke(user_id, token_id)

    # --- internals ---------------------------------------------------------------------------------
    def _require_admin(self, user_id: uuid.UUID) -> None:
        UserService(self.uow, self.principal).get(user_id)  # 404 unless the user is readable
        if self.principal.depth("user", Privilege.WRITE) < Depth.ORGANIZATION:
            raise Forbidden("managing another user's tokens needs the write privilege on user at "
                            "organization depth", entity="user", privilege="write")

    def _tokens_of(self, user_id: uuid.UUID) -> list[ApiToken]:
        return list(self.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user_id)
            .order_by(ApiToken.created_on.desc(), ApiToken.id)
        ))

    def _revoke(self, user_id: uuid.UUID, token_id: uuid.UUID) -> ApiToken:
        row = self.session.get(ApiToken, token_id)
        if row is None or row.user_id != user_id:
            raise NotFound(f"no token with id {token_id} for this user")
        if row.revoked_on is None:  # revoking twice keeps the first time
            row.revoked_on = utcnow()
            self.session.flush()
            self.uow.commit()
        return row
