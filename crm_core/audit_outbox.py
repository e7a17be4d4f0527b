"""An outbox fed by the audit trail: rows written in the same transaction as the audit entries they stand for,
whether the entries come through the ORM (the audit hook adds them to the flush) or in bulk (mail sync's
INSERT ... VALUES of audit_log). The webhook deliveries (webhook_events.py) and the business rules' events
(automation/events.py) are two such outboxes; each says how an outbox row is made from the entries."""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from crm_core.models import AuditEntry

Entries = Iterable[Mapping[str, Any]]  # audit entries as mappings of the audit_log columns
RowsOf = Callable[[Session, Entries], list[dict[str, Any]]]


def install(factory: sessionmaker[Session], model: type[Any], rows_of: RowsOf, cache_key: str) -> None:
    """After crm_core.audit.install: `rows_of(session, entries)` gives the `model` rows the entries make.
    `cache_key`: the session.info entry the outbox caches its subscriptions under, dropped at each transaction's
    end (a subscription made or ended in another transaction counts from the next one)."""

    def before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
        entries = [{"entity": o.entity, "operation": o.operation, "action": o.action, "changes": o.changes,
                    "record_id": o.record_id, "user_id": o.user_id, "at": o.at}
                   for o in session.new if isinstance(o, AuditEntry)]
        if entries:
            session.add_all(model(**row) for row in rows_of(session, entries))

    def on_execute(state: ORMExecuteState) -> Any:
        if not state.is_insert:  # every statement passes here: the common case leaves at once
            return None
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) != AuditEntry.__tablename__:
            return None
        params = state.parameters
        entries = params if isinstance(params, list) else [params] if params else []
        result = state.invoke_statement()
        rows = rows_of(state.session, entries)
        if rows:
            state.session.execute(insert(model), rows)
        return result

    def forget(session: Session, transaction: Any) -> None:
        # The outermost transaction only: a flush and a savepoint end inner ones, and dropping the cache there
        # would read the subscriptions again after every flush.
        if transaction.parent is None:
            session.info.pop(cache_key, None)

    event.listen(factory, "before_flush", before_flush)
    event.listen(factory, "do_orm_execute", on_execute)
    event.listen(factory, "after_transaction_end", forget)
