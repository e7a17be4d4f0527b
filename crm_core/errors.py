"""The errors of crm_core. The API turns each into an RFC 9457 problem; the CLI prints it without a traceback."""

from typing import Any


class CrmError(Exception):
    """Root of every error we raise on purpose."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotAuthenticated(CrmError):
    status = 401
    title = "Not authenticated"


class Forbidden(CrmError):
    status = 403
    title = "Forbidden"


class NotFound(CrmError):
    status = 404
    title = "Not found"


class Conflict(CrmError):
    status = 409
    title = "Conflict"


class ValidationFailed(CrmError):
    """Input that breaks a rule. `errors` lists the failing fields as [{"field": ..., "message": ...}]."""

    status = 422
    title = "Validation failed"

    def __init__(self, detail: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail, errors=errors or [])

    @classmethod
    def field(cls, field: str, message: str) -> "ValidationFailed":
        return cls(f"{field}: {message}", [{"field": field, "message": message}])


class InvalidStateTransition(Conflict):
    title = "Invalid state transition"
