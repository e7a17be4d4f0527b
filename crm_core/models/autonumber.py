"""The counters behind auto-numbers (QUO-01001-A1B2C3): one row per prefix, its last number handed out."""

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.db.base import Base


class AutoNumberCounter(Base):
    """Changed only by crm_core.services.autonumber, inside the transaction of the record it numbers: the
    row lock held until that commit is what keeps two concurrent numbers apart."""

    __tablename__ = "autonumber_counters"

    prefix: Mapped[str] = mapped_column(String(10), primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger)
