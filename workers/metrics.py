"""Prometheus metrics at /metrics, read from the database at each scrape: workers run on many machines, and the
database is where each of them records what it did (runs, states, sightings), so any API process can answer for
all of them, and nothing is lost when a worker restarts.

- crm_mail_messages_synced_total{connector}: mail sightings recorded by syncs (each message a mailbox saw);
- crm_mailbox_sync_runs_total{connector,outcome}: sync runs of the kept history (90 days), by outcome;
- crm_mailbox_sync_run_seconds{connector}: a summary (count, sum) of finished runs' durations;
- crm_mailbox_sync_lag_seconds{mailbox}: since the mailbox's last complete pass;
- crm_mailbox_sync_failures{mailbox}: failures in a row; crm_mailbox_sync_stage{mailbox,stage}: 1 for its stage;
- crm_mailbox_alerts{level}: open alerts; crm_mail_quarantined: messages in quarantine;
- crm_mail_pending_send: emails waiting to be sent."""

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.types import utcnow
from crm_core.models import (
    Email,
    EmailServerProfile,
    Mailbox,
    MailboxAlert,
    MailboxSyncRun,
    MailboxSyncState,
    MailQuarantine,
    MailSighting,
)
from crm_core.models.mailbox_sync import SYNC_STAGES
from crm_core.services.email_sending import PENDING_SEND


def _seconds(session: Session) -> Any:
    """A finished run's duration in seconds, in the database's own arithmetic."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", MailboxSyncRun.finished_on - MailboxSyncRun.started_on)
    return (func.julianday(MailboxSyncRun.finished_on) - func.julianday(MailboxSyncRun.started_on)) * 86400.0


class DatabaseCollector(Collector):
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def collect(self) -> Iterator[Metric]:
        with self._factory() as session:
            yield from self._mail(session)
            yield from self._runs(session)
            yield from self._mailboxes(session)

    def _mail(self, session: Session) -> Iterator[Metric]:
        synced = CounterMetricFamily("crm_mail_messages_synced", "Messages seen by mailbox syncs.",
                                     labels=["connector"])
        rows = session.execute(select(EmailServerProfile.incoming_protocol, func.count(MailSighting.id))
                               .join(Mailbox, Mailbox.id == MailSighting.mailbox_id)
                               .join(EmailServerProfile, EmailServerProfile.id == Mailbox.server_profile_id)
                               .group_by(EmailServerProfile.incoming_protocol))
        for connector, count in rows:
            synced.add_metric([connector], count)
        yield synced
        quarantined = session.scalar(select(func.count()).select_from(MailQuarantine)) or 0
        yield GaugeMetricFamily("crm_mail_quarantined", "Messages in the quarantine.", value=quarantined)
        pending = session.scalar(select(func.count()).select_from(Email).where(Email.statuscode == PENDING_SEND)) or 0
        yield GaugeMetricFamily("crm_mail_pending_send", "Emails waiting to be sent.", value=pending)

    def _runs(self, session: Session) -> Iterator[Metric]:
        runs = CounterMetricFamily("crm_mailbox_sync_runs", "Sync runs in the kept history (90 days).",
                                   labels=["connector", "outcome"])
        for connector, outcome, count in session.execute(
                select(MailboxSyncRun.connector, MailboxSyncRun.outcome, func.count())
                .group_by(MailboxSyncRun.connector, MailboxSyncRun.outcome)):
            runs.add_metric([connector, outcome], count)
        yield runs
        seconds = SummaryMetricFamily("crm_mailbox_sync_run_seconds", "Durations of finished sync runs.",
                                      labels=["connector"])
        # Summed in the database: the kept history holds a run per mailbox every few minutes for 90 days.
        for connector, count, total in session.execute(
                select(MailboxSyncRun.connector, func.count(), func.sum(_seconds(session)))
                .where(MailboxSyncRun.finished_on.is_not(None)).group_by(MailboxSyncRun.connector)):
            seconds.add_metric([connector], count_value=count, sum_value=float(total or 0.0))
        yield seconds

    def _mailboxes(self, session: Session) -> Iterator[Metric]:
        now = utcnow()
        lag = GaugeMetricFamily("crm_mailbox_sync_lag_seconds", "Seconds since the last complete pass.",
                                labels=["mailbox"])
        failures = GaugeMetricFamily("crm_mailbox_sync_failures", "Failures in a row.", labels=["mailbox"])
        stage = GaugeMetricFamily("crm_mailbox_sync_stage", "1 for the stage the mailbox is in.",
                                  labels=["mailbox", "stage"])
        for name, state in session.execute(select(Mailbox.name, MailboxSyncState)
                                           .join(MailboxSyncState, MailboxSyncState.mailbox_id == Mailbox.id)):
            if state.last_success_on is not None:
                lag.add_metric([name], (now - state.last_success_on).total_seconds())
            failures.add_metric([name], state.failure_count)
            for one in SYNC_STAGES:
                stage.add_metric([name, one], 1.0 if one == state.stage else 0.0)
        yield lag
        yield failures
        yield stage
        alerts = GaugeMetricFamily("crm_mailbox_alerts", "Open mailbox alerts.", labels=["level"])
        for level, count in session.execute(select(MailboxAlert.level, func.count())
                                            .where(MailboxAlert.dismissed_on.is_(None)).group_by(MailboxAlert.level)):
            alerts.add_metric([level], count)
        yield alerts


def exposition(factory: sessionmaker[Session]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(factory))
    return generate_latest(registry)


def content_type() -> Any:
    from prometheus_client import CONTENT_TYPE_LATEST

    return CONTENT_TYPE_LATEST
