"""The sender: delivers the emails waiting in Pending Send through their mailboxes, a few per mailbox per run.

One run: claim (one transaction: each email gets its mailbox, tracking token and Message-ID, and moves to
Sending), then deliver each (no transaction open while the SMTP server answers), then record each outcome in
a transaction of its own: Sent; back to Pending Send for a temporary failure (a later run retries, up to
`max_attempts`); Open / Failed with the reason otherwise. A run killed after a mail went out but before it was
recorded leaves it in Sending: after `stale_after` a later run sends it again with the same Message-ID and
token, so the recipient's client and our Sent-folder sync both see one mail.

Throttling: at most `per_mailbox` emails per mailbox per run (the workers run it every minute), the oldest
first, so that a campaign does not hold a rep's own mail back for long or trip the server's limits."""

import logging
import ssl
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from crm_core.activity_catalogue import COMPLETED, OPEN
from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import CaseRuleDecision, Email, Mailbox
from crm_core.network_guard import OutboundRefused
from crm_core.security.secrets import SecretUnavailable
from crm_core.services import case_slas
from crm_core.services.autonumber import next_sequence
from crm_core.services.email_sending import FAILED, PENDING_SEND, SENDING, SENT, sending_mailbox
from crm_core.services.mailboxes import MailboxConnection, connection_of
from crm_core.settings import Settings
from mailbridge.errors import MailError, RecipientsRefused, TemporaryFailure
from mailbridge.message import TrackingTokens
from mailbridge.message.identifiers import normalise_message_id
from mailbridge.outgoing.compose import compose
from mailbridge.transports.base import MailTransport, SentMessage
from mailbridge.transports.registry import transport_for

log = logging.getLogger(__name__)
TOKEN_COUNTER = "MAILTOKEN"  # noqa: S105 (a counter name): the autonumber counter tracking tokens come from


@dataclass(frozen=True)
class OutgoingOptions:
    tokens: TrackingTokens = field(default_factory=TrackingTokens)
    per_mailbox: int = 30
    max_attempts: int = 5
    stale_after: timedelta = timedelta(minutes=10)
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> "OutgoingOptions":
        return cls(tokens=TrackingTokens(prefix=settings.mail_token_prefix), per_mailbox=settings.mail_send_per_mailbox)


@dataclass
class SendSummary:
    sent: int = 0
    retry: int = 0  # temporary failures, back in Pending Send
    failed: int = 0
    errors: dict[uuid.UUID, str] = field(default_factory=dict)
    by_mailbox: Counter[str] = field(default_factory=Counter)


def mailbox_transport(connection: MailboxConnection, options: OutgoingOptions) -> MailTransport:
    """The transport the mailbox's protocol calls for (SMTP, Graph, EWS): mailbridge.transports.registry."""
    return transport_for(connection, timeout=options.timeout, ssl_context=options.ssl_context)


TransportFactory = Callable[[MailboxConnection, OutgoingOptions], MailTransport]


@dataclass(frozen=True)
class _Ready:
    email_id: uuid.UUID
    mailbox: str
    sender: str
    message: EmailMessage
    recipients: list[str]
    connection: MailboxConnection | None
    problem: str | None = None


def send_pending(factory: sessionmaker[Session], options: OutgoingOptions | None = None,
                 transport_for: TransportFactory | None = None, now: datetime | None = None) -> SendSummary:
    """One run of the sender. `transport_for(connection, options)` makes the transport (by default the one the
    mailbox's protocol calls for)."""
    options = options or OutgoingOptions()
    transport_for = transport_for or mailbox_transport
    summary = SendSummary()
    for email_id in _claim(factory, options, now or utcnow(), summary):
        ready = _prepare(factory, email_id, options)
        if ready.problem is not None or ready.connection is None or ready.connection.outgoing is None:
            _record_failure(factory, email_id, ready.problem or "the mailbox has no outgoing server", False,
                            options, summary)
            continue
        try:
            sent = transport_for(ready.connection, options).send(
                ready.message, sender=ready.sender, recipients=ready.recipients)
        except TemporaryFailure as exc:
            _record_failure(factory, email_id, exc.detail, True, options, summary)
        except RecipientsRefused as exc:
            refused = "; ".join(f"{address}: {why}" for address, why in exc.refused.items())
            _record_failure(factory, email_id, f"{exc.detail}: {refused}" if refused else exc.detail, False,
                            options, summary)
        except MailError as exc:
            _record_failure(factory, email_id, exc.detail, False, options, summary)
        else:
            _record_sent(factory, email_id, sent, summary)
            summary.by_mailbox[ready.mailbox] += 1
    return summary


def _claim(factory: sessionmaker[Session], options: OutgoingOptions, now: datetime,
           summary: SendSummary) -> list[uuid.UUID]:
    with UnitOfWork(factory) as uow:
        session = uow.session
        uow.set_action("send")
        waiting = select(Email).where(Email.statecode == COMPLETED, or_(
            Email.statuscode == PENDING_SEND,
            and_(Email.statuscode == SENDING, Email.modified_on < now - options.stale_after),
        )).order_by(Email.created_on, Email.id)
        if session.get_bind().dialect.name == "postgresql":
            waiting = waiting.with_for_update(skip_locked=True)  # two senders never claim the same email
        taken: Counter[uuid.UUID] = Counter()
        claimed = []
        # The oldest waiting emails only: a campaign of thousands is not read whole every minute to take a few.
        for email in session.scalars(waiting.limit(options.per_mailbox * 50)).all():
            mailbox = (session.get(Mailbox, email.sending_mailbox_id) if email.sending_mailbox_id
                       else sending_mailbox(session, email))
            if mailbox is None or not mailbox.may_sync("outgoing"):
                why = "no mailbox to send from" if mailbox is None else mailbox.may_sync("outgoing").reason
                _fail(email, f"not sent: {why}")
                summary.failed += 1
                summary.errors[email.id] = why or ""
                continue
            if taken[mailbox.id] >= options.per_mailbox:
                continue  # throttled: the next run takes it
            taken[mailbox.id] += 1
            email.sending_mailbox_id = mailbox.id
            if options.tokens.parse(email.tracking_token or "") is None:
                email.tracking_token = options.tokens.format(next_sequence(session, TOKEN_COUNTER))
            if not email.message_id:
                domain = mailbox.email_address.rpartition("@")[2]
                email.message_id = normalise_message_id(make_msgid(domain=domain))
            email.statuscode = SENDING
            email.send_attempts = (email.send_attempts or 0) + 1
            claimed.append(email.id)
        session.flush()
        uow.commit()
    return claimed


def _prepare(factory: sessionmaker[Session], email_id: uuid.UUID, options: OutgoingOptions) -> _Ready:
    """Everything the delivery needs, read in a short transaction (none stays open while SMTP answers)."""
    with UnitOfWork(factory) as uow:
        session = uow.session
        email = session.get(Email, email_id)
        mailbox = session.get(Mailbox, email.sending_mailbox_id) if email is not None else None
        assert email is not None
        assert mailbox is not None
        number = options.tokens.parse(email.tracking_token or "")
        try:
            message, recipients = compose(session, email, mailbox, options.tokens, number or 0)
        except ValueError as exc:  # a header the email policy refuses (a line break in an id): this email fails
            return _Ready(email_id, mailbox.name, mailbox.email_address, EmailMessage(), [], None,
                          f"the email cannot be written as a message: {exc}")
        try:
            connection = connection_of(session, mailbox)
        except (SecretUnavailable, OutboundRefused) as exc:  # OutboundRefused: a loopback server (docs/security.md)
            return _Ready(email_id, mailbox.name, mailbox.email_address, message, recipients, None, exc.detail)
        return _Ready(email_id, mailbox.name, mailbox.email_address, message, recipients, connection)


def _record_sent(factory: sessionmaker[Session], email_id: uuid.UUID, sent: SentMessage,
                 summary: SendSummary) -> None:
    with UnitOfWork(factory) as uow:
        session = uow.session
        uow.set_action("send")
        email = session.get(Email, email_id)
        assert email is not None
        now = utcnow()
        email.statecode, email.statuscode = COMPLETED, SENT
        email.sent_on = email.actual_end = email.occurred_on = now
        if sent.message_id and sent.message_id != email.message_id:
            # The server put its own (Exchange may): replies and the Sent copy carry that one.
            email.message_id = sent.message_id
        refused = "; ".join(f"{address}: {why}" for address, why in sent.refused.items())
        email.send_error = f"some recipients were refused: {refused}" if refused else None
        automatic = session.scalar(select(CaseRuleDecision.id).where(CaseRuleDecision.acknowledgement_id == email.id))
        if email.regarding_type == "case" and email.regarding_id is not None and automatic is None:
            # A person's answer is the customer's first response; an automatic acknowledgement is not.
            case_slas.on_answered(session, email.regarding_id, now)
        session.flush()
        uow.commit()
    summary.sent += 1


def _record_failure(factory: sessionmaker[Session], email_id: uuid.UUID, reason: str, temporary: bool,
                    options: OutgoingOptions, summary: SendSummary) -> None:
    with UnitOfWork(factory) as uow:
        uow.set_action("send")
        email = uow.session.get(Email, email_id)
        assert email is not None
        if temporary and email.send_attempts < options.max_attempts:
            email.statuscode, email.send_error = PENDING_SEND, f"will retry: {reason}"
            summary.retry += 1
        else:
            tries = f" (after {email.send_attempts} attempts)" if temporary else ""
            _fail(email, f"{reason}{tries}")
            summary.failed += 1
        summary.errors[email_id] = reason
        uow.session.flush()
        uow.commit()
    log.warning("email %s not sent: %s", email_id, reason)


def _fail(email: Email, reason: str) -> None:
    email.statecode, email.statuscode, email.send_error = OPEN, FAILED, reason[:2000]
