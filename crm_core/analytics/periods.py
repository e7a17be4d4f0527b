"""The period a report covers, and the SQL that buckets times into its days and months on either database."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, func
from sqlalchemy.orm import Session

from crm_core.errors import ValidationFailed

MAX_DAYS = 3660  # ten years: a report over more is a mistake, and would scan everything


@dataclass(frozen=True)
class Period:
    start: date  # first day, inclusive
    end: date  # last day, inclusive

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time(), UTC)

    @property
    def end_before(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time(), UTC)


def period(start: date | None, end: date | None, today: date, default_days: int = 365) -> Period:
    """[start, end] in whole UTC days; by default the `default_days` up to today. 422 if reversed or too long."""
    end = end or today
    start = start or end - timedelta(days=default_days - 1)
    if start > end:
        raise ValidationFailed.field("from", "the period starts after it ends")
    if (end - start).days >= MAX_DAYS:
        raise ValidationFailed.field("from", f"a period covers at most {MAX_DAYS} days")
    return Period(start, end)


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def day_of(session: Session, column: ColumnElement[datetime]) -> ColumnElement[str]:
    """'YYYY-MM-DD' of a UTC time (SQLite keeps naive UTC text; PostgreSQL a timestamptz read in UTC)."""
    if _postgres(session):
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column)


def month_of_date(session: Session, column: ColumnElement[date]) -> ColumnElement[str]:
    """'YYYY-MM' of a date column."""
    if _postgres(session):
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)
