"""Admin actions on a mailbox that use the connectors. Each takes a unit of work and the caller, as the
domain services do, and keeps no transaction open while it talks to a mail server."""

import ssl
import uuid

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import Mailbox
from crm_core.security.principal import Principal
from crm_core.security.secrets import SecretUnavailable
from crm_core.services.mailboxes import MailboxService, TestOutcome
from mailbridge.admin.checks import DEFAULT_TIMEOUT, check_connection


def run_connection_test(uow: UnitOfWork, principal: Principal, mailbox_id: uuid.UUID, *,
                 timeout: float = DEFAULT_TIMEOUT, ssl_context: ssl.SSLContext | None = None) -> Mailbox:
    """Logs in with the mailbox's decrypted credentials and stores the outcome on it (time, ok or the reason,
    a message). Only those who may change the mailbox may test it: its user, or an administrator."""
    service = MailboxService(uow, principal)
    try:
        connection = service.connection(mailbox_id)
    except SecretUnavailable as exc:
        connection, outcome = None, TestOutcome(False, "secret", exc.detail)
    uow.rollback()  # no transaction stays open while a mail server answers (or does not)
    if connection is not None:
        outcome = check_connection(connection, timeout=timeout, ssl_context=ssl_context)
    return service.record_test(mailbox_id, outcome)
