"""Email addresses validated and normalised once, the same way for records and for mail (IDN, case)."""

from email_validator import EmailNotValidError, validate_email

from crm_core.errors import ValidationFailed


def normalize(address: str) -> str:
    """The canonical form we store and match on: syntax checked, domain in Unicode, all lower case.

    Lower-casing the local part breaks RFC 5321 in theory; in practice no mail system we meet treats
    Jane@ and jane@ as two people, and Dynamics matches case-insensitively too."""
    try:
        result = validate_email(address.strip(), check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return result.normalized.lower()


def normalize_field(field: str, address: str | None) -> str | None:
    if address is None or not address.strip():
        return None
    try:
        return normalize(address)
    except ValueError as exc:
        raise ValidationFailed.field(field, f"not a valid email address: {exc}") from None
