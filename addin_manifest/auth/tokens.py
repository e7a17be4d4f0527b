"""Entra ID v2.0 access tokens for our API, as nested app authentication gets them in the task pane.

A token is accepted when it is signed (RS256) by a current key of the tenant it names, was issued by that very
tenant (`iss` = authority/{tid}/v2.0, so a token of another tenant cannot pose as one of ours), is meant for
us (`aud` is our client id: v2.0 tokens carry the GUID, never the api:// URI, which only v1.0 tokens carry and
those have another issuer), is within its lifetime (a minute of leeway for clocks), grants the delegated
scope `access_as_user`, and comes from a tenant on the allow-list. Every refusal says which check failed."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from addin_manifest.auth.keys import SigningKeys
from crm_core.errors import NotAuthenticated

SCOPE = "access_as_user"
LEEWAY = 60


class InvalidEntraToken(NotAuthenticated):
    title = "Invalid Entra ID token"


@dataclass(frozen=True)
class EntraClaims:
    """The checked claims we use: the pair that keys the user, and what to show or log about him."""

    tenant_id: str
    object_id: str
    name: str | None
    username: str | None
    scopes: frozenset[str]
    expires_on: datetime


@dataclass
class TokenValidator:
    client_id: str
    tenants: Collection[str]
    keys: SigningKeys
    leeway: int = LEEWAY

    def validate(self, token: str) -> EntraClaims:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise InvalidEntraToken("the bearer token is not a JWT") from None
        if header.get("alg") != "RS256" or not header.get("kid"):
            raise InvalidEntraToken("the token is not signed with RS256 by a key named in its header (kid)")
        tenant = _lower(unverified.get("tid"))
        if not tenant:
            raise InvalidEntraToken("the token names no tenant (tid): it is not an Entra ID work account token")
        # The allow-list comes before any key fetch: we never ask Entra ID about a tenant we do not serve.
        if tenant not in {t.lower() for t in self.tenants}:
            raise InvalidEntraToken(f"tenant {tenant} may not use this add-in (CRM_ADDIN_TENANTS)")
        key = self.keys.get(tenant, str(header["kid"]))
        if key is None:
            raise InvalidEntraToken("the token is signed by a key its tenant does not publish")
        claims = self._decode(token, key, tenant)
        scopes = frozenset(str(claims.get("scp") or "").split())
        if SCOPE not in scopes:
            raise InvalidEntraToken(f"the token does not grant the scope {SCOPE} (it has: "
                                    f"{' '.join(sorted(scopes)) or 'none'}); application tokens are refused")
        return EntraClaims(tenant_id=tenant, object_id=_lower(claims["oid"]), name=claims.get("name"),
                           username=claims.get("preferred_username"), scopes=scopes,
                           expires_on=datetime.fromtimestamp(claims["exp"], UTC))

    def _decode(self, token: str, key: jwt.PyJWK, tenant: str) -> dict[str, Any]:
        issuer = self.keys.issuer(tenant)
        try:
            return jwt.decode(token, key, algorithms=["RS256"], audience=self.client_id, issuer=issuer,
                              leeway=self.leeway, options={"require": ["exp", "iss", "aud", "tid", "oid"]})
        except jwt.InvalidSignatureError:
            raise InvalidEntraToken("the token's signature does not verify") from None
        except jwt.ExpiredSignatureError:
            raise InvalidEntraToken("the token has expired; the add-in gets a new one silently") from None
        except jwt.ImmatureSignatureError:
            raise InvalidEntraToken("the token is not valid yet (nbf/iat in the future)") from None
        except jwt.InvalidAudienceError:
            raise InvalidEntraToken(f"the token is not meant for this CRM (aud must be {self.client_id})") from None
        except jwt.InvalidIssuerError:
            raise InvalidEntraToken(f"the token was not issued by its own tenant (iss must be {issuer})") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidEntraToken(f"the token lacks the claim {exc.claim}") from None
        except jwt.PyJWTError as exc:
            raise InvalidEntraToken(f"the token is invalid: {exc}") from None


def _lower(value: object) -> str:
    return str(value).lower() if value else ""
