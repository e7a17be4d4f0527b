"""Privileges, their depths and the access-right bits of a share."""

from enum import IntEnum, StrEnum


class Privilege(StrEnum):
    CREATE = "create"
    READ = "read"
    WRITE = "write"
    DELETE = "delete"
    APPEND = "append"
    APPEND_TO = "append_to"
    ASSIGN = "assign"
    SHARE = "share"


class Depth(IntEnum):
    """How far a privilege reaches (Dynamics' masks: Basic 1, Local 2, Deep 4, Global 8)."""

    NONE = 0
    USER = 1
    BUSINESS_UNIT = 2
    PARENT_CHILD = 4
    ORGANIZATION = 8

    @classmethod
    def parse(cls, value: str | int) -> "Depth":
        if isinstance(value, int):
            return cls(value)
        return cls[value.strip().upper().replace("-", "_").replace(" ", "_")]


# AccessRights of principalobjectaccess, as Dynamics numbers them.
SHARE_BITS: dict[Privilege, int] = {
    Privilege.READ: 1,
    Privilege.WRITE: 2,
    Privilege.APPEND: 4,
    Privilege.APPEND_TO: 16,
    Privilege.CREATE: 32,
    Privilege.DELETE: 65536,
    Privilege.SHARE: 262144,
    Privilege.ASSIGN: 524288,
}


def share_mask(privileges: list[Privilege]) -> int:
    mask = 0
    for p in privileges:
        mask |= SHARE_BITS[p]
    return mask


def mask_privileges(mask: int) -> list[Privilege]:
    return [p for p, bit in SHARE_BITS.items() if mask & bit]
