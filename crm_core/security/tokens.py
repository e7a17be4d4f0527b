"""Personal API tokens: shown once, stored as a SHA-256 digest, with an expiry and a revocation."""

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.db.types import utcnow
from crm_core.errors import NotAuthenticated
from crm_core.models import ApiToken

PREFIX = "crm_"


def digest(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: Session, user_id: uuid.UUID, name: str, days: int) -> tuple[ApiToken, str]:
    token = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken(id=uuid.uuid4(), user_id=user_id, name=name, token_hash=digest(token),
                   created_on=now, expires_on=now + timedelta(days=days))
    session.add(row)
    return row, token


def check_form(token: str) -> None:
    if not token.startswith(PREFIX):
        raise NotAuthenticated("the bearer token is not a CRM API token")


def check_expiry(expires_on: datetime) -> None:
    if expires_on <= utcnow():
        raise NotAuthenticated("the bearer token has expired")


def verify(session: Session, token: str) -> ApiToken:
    """The live token row for a bearer token, or NotAuthenticated saying why (never which part matched)."""
    check_form(token)
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == digest(token))).scalar_one_or_none()
    if row is None or row.revoked_on is not None:
        raise NotAuthenticated("the bearer token is unknown or revoked")
    check_expiry(row.expires_on)
    return row
