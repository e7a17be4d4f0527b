"""What quotes, orders and invoices share: the header (customer, price list, currency, discounts), lines,
totals recomputed server-side on every change, an auto-number, and state changes through verbs only.

Subclasses (services.quotes, services.orders, services.invoices) add their verbs and editability."""

import uuid
from datetime import date
from typing import Any, ClassVar, TypeVar

from crm_core.db import column_limits
from crm_core.db.types import utcnow
from crm_core.errors import Conflict, InvalidStateTransition, NotFound, ValidationFailed
from crm_core.models import Opportunity, PriceList
from crm_core.security.privileges import Privilege
from crm_core.services import autonumber, document_lines, pricing
from crm_core.services.catalog import catalog_record
from crm_core.services.pricing import ZERO
from crm_core.services.records import OwnerRef, RecordService

D = TypeVar("D")
CUSTOMER_TYPES = ("account", "contact")
# Header columns a derived document (a revision, an order from a quote, an invoice) copies.
COPIED_HEADER = ("name", "description", "customer_account_id", "customer_contact_id", "opportunity_id",
                 "price_list_id", "currency_code", "discount_percentage", "discount_amount", "freight_amount",
                 "payment_terms_code", "total_line_item_amount", "total_line_item_discount_amount",
                 "total_discount_amount", "total_amount_less_freight", "total_tax", "total_amount")
_TOTALS = ("total_line_item_amount", "total_line_item_discount_amount", "total_discount_amount",
           "total_amount_less_freight", "total_tax", "total_amount")


class SalesDocumentService(RecordService[D]):
    line_model: ClassVar[type[Any]]
    parent_key: ClassVar[str]  # the lines' column naming the document: "quote_id"
    number_prefix: ClassVar[str]  # "QUO"
    number_column: ClassVar[str]  # "quote_number"
    verb_names: ClassVar[str]  # for the message of set-state
    links: ClassVar[dict[str, str]] = {"opportunity_id": "opportunity"}

    # --- create and update ---------------------------------------------------------------------------
    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> D:
        self.principal.require(self.entity_name, Privilege.CREATE)
        values = dict(values)
        lines = values.pop("lines", None) or []
        record = self.new_record(owner or OwnerRef("user", self.principal.user_id))
        self.apply(record, values, creating=True)
        setattr(record, self.number_column, autonumber.next_number(self.session, self.number_prefix))
        self.session.add(record)
        with self.session.no_autoflush:
            for i, line_values in enumerate(lines):
                try:
                    self._add_line(record, line_values)
                except ValidationFailed as exc:
                    raise document_lines.prefixed(exc, f"lines[{i}].") from None
            self.recompute(record)
        return self._commit(record)

    def new_record(self, owner: OwnerRef) -> Any:
        record = self.model(id=uuid.uuid4(), discount_percentage=ZERO, discount_amount=ZERO, freight_amount=ZERO,
                            **dict.fromkeys(_TOTALS, ZERO))
        self._set_owner(record, owner, Privilege.CREATE)
        record.statecode, record.statuscode = self.spec.states.resolve(0, None)  # type: ignore[union-attr]
        return record

    def update(self, record_id: uuid.UUID, values: dict[str, Any]) -> D:
        record = self.get(record_id, Privilege.WRITE)
        self.ensure_editable(record)
        self.apply(record, values, creating=False)
        with self.session.no_autoflush:
            self.recompute(record)
        return self._commit(record)

    def apply(self, record: Any, values: dict[str, Any], creating: bool) -> None:
        values = pricing.scaled(values)
        customer = {k: values.pop(k) for k in ("customer_type", "customer_id") if k in values}
        with self.session.no_autoflush:
            if creating and not customer and values.get("opportunity_id") is not None:
                customer = self._customer_of_opportunity(values)
            if customer or creating:
                self._set_customer(record, customer.get("customer_type"), customer.get("customer_id"))
            super().apply(record, values, creating)

    def validate(self, record: Any, values: dict[str, Any], creating: bool) -> None:
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", f"a {self.entity_name} needs a name")
        price_list = None
        if record.price_list_id is not None and (creating or "price_list_id" in values):
            price_list = catalog_record(self.session, self.principal, "price_list", record.price_list_id,
                                        "price_list_id")
            if price_list.statecode != 0:
                raise ValidationFailed.field("price_list_id", f"price list {price_list.name!r} is inactive")
            if record.currency_code is None:
                record.currency_code = price_list.currency_code
        if record.currency_code is None:
            raise ValidationFailed.field("currency_code", "give a currency_code or a price_list_id to take it from")
        pricing.check_currency(record.currency_code)
        if not creating and "currency_code" in values and record.lines and any(
                line.currency_code != record.currency_code for line in record.lines):
            raise Conflict(f"this {self.entity_name} has lines priced in {record.lines[0].currency_code}; "
                           "remove them before changing its currency")
        if record.price_list_id is not None and (price_list or "currency_code" in values):
            listed = price_list or self.session.get(PriceList, record.price_list_id)
            if listed is not None and listed.currency_code != record.currency_code:
                raise ValidationFailed.field(
                    "price_list_id", f"price list {listed.name!r} is in {listed.currency_code}, "
                    f"the {self.entity_name} in {record.currency_code}")
        for name in ("discount_percentage", "discount_amount", "freight_amount"):
            if getattr(record, name) is None:  # null in a PATCH: back to none
                setattr(record, name, ZERO)
        if not 0 <= record.discount_percentage <= 100:
            raise ValidationFailed.field("discount_percentage", "0 to 100")
        for name in ("discount_amount", "freight_amount"):
            if getattr(record, name) < 0:
                raise ValidationFailed.field(name, "cannot be negative")
        self.validate_own(record, values, creating)
        if not creating and "price_list_id" in values and not getattr(record, "is_price_locked", False):
            document_lines.reprice_all(self.session, self.principal, record)

    def validate_own(self, record: Any, values: dict[str, Any], creating: bool) -> None:
        """The rules of one kind of document (dates...)."""

    def recompute(self, record: Any) -> None:
        totals = pricing.document_totals(
            [pricing.LineAmounts(x.base_amount, x.manual_discount_amount, x.tax, x.extended_amount)
             for x in record.lines],
            record.discount_percentage, record.discount_amount, record.freight_amount)
        for name in _TOTALS:
            value = getattr(totals, name)
            column_limits.check(self.model.__table__.c[name], value, name)
            setattr(record, name, value)

    def _set_customer(self, record: Any, customer_type: str | None, customer_id: uuid.UUID | None) -> None:
        if customer_type not in CUSTOMER_TYPES:
            raise ValidationFailed.field("customer_type", "'account' or 'contact'")
        if customer_id is None:
            raise ValidationFailed.field("customer_id", f"a {self.entity_name} needs a customer")
        current = record.customer_account_id if customer_type == "account" else record.customer_contact_id
        if current != customer_id:
            self.check_link(customer_type, customer_id, "customer_id")
        record.customer_account_id = customer_id if customer_type == "account" else None
        record.customer_contact_id = customer_id if customer_type == "contact" else None

    def _customer_of_opportunity(self, values: dict[str, Any]) -> dict[str, Any]:
        """A document made for an opportunity takes its customer (and currency) unless given."""
        opportunity = self.check_link("opportunity", values["opportunity_id"], "opportunity_id")
        assert isinstance(opportunity, Opportunity)
        if values.get("currency_code") is None and values.get("price_list_id") is None:
            values["currency_code"] = opportunity.currency_code
        if opportunity.customer_account_id is not None:
            return {"customer_type": "account", "customer_id": opportunity.customer_account_id}
        return {"customer_type": "contact", "customer_id": opportunity.customer_contact_id}

    def _commit(self, record: Any, *others: Any) -> Any:
        """Commits; returns `record` (and `others` are committed with it)."""
        self.session.flush()
        self.uow.commit()
        # customer_type and customer_id are SQL expressions over the two keys: read them afresh.
        for done in (record, *others):
            self.session.expire(done, ["customer_type", "customer_id"])
        return record

    # --- lines ---------------------------------------------------------------------------------------
    def lines(self, record_id: uuid.UUID) -> list[Any]:
        return list(self.get(record_id).lines)  # type: ignore[attr-defined]

    def line(self, record_id: uuid.UUID, line_id: uuid.UUID) -> Any:
        return self._line(self.get(record_id), line_id)

    def add_line(self, record_id: uuid.UUID, values: dict[str, Any]) -> Any:
        record = self._editable(record_id)
        with self.session.no_autoflush:
            line = self._add_line(record, values)
            self.recompute(record)
        self.session.flush()
        self.uow.commit()
        return line

    def update_line(self, record_id: uuid.UUID, line_id: uuid.UUID, values: dict[str, Any]) -> Any:
        record = self._editable(record_id)
        line = self._line(record, line_id)
        with self.session.no_autoflush:
            document_lines.apply_line(self.session, self.principal, record, line, values, creating=False)
            self.recompute(record)
        self.session.flush()
        self.uow.commit()
        return line

    def delete_line(self, record_id: uuid.UUID, line_id: uuid.UUID) -> None:
        record = self._editable(record_id)
        record.lines.remove(self._line(record, line_id))
        with self.session.no_autoflush:
            self.recompute(record)
        self.session.flush()
        self.uow.commit()

    def _editable(self, record_id: uuid.UUID) -> Any:
        record = self.get(record_id, Privilege.WRITE)
        self.ensure_editable(record)
        return record

    def _line(self, record: Any, line_id: uuid.UUID) -> Any:
        for line in record.lines:
            if line.id == line_id:
                return line
        raise NotFound(f"no line with id {line_id} on this {self.entity_name}")

    def _add_line(self, record: Any, values: dict[str, Any]) -> Any:
        number = max((x.line_number for x in record.lines), default=0) + 1
        line = self.line_model(id=uuid.uuid4(), line_number=number, is_price_overridden=False)
        setattr(line, self.parent_key, record.id)
        document_lines.apply_line(self.session, self.principal, record, line, values, creating=True)
        record.lines.append(line)
        return line

    # --- states --------------------------------------------------------------------------------------
    def set_state(self, record_id: uuid.UUID, statecode: int, statuscode: int | None,
                  action: str = "set_state") -> D:
        """Only a new status reason within the current, open state: state changes have their verbs."""
        record = self.get(record_id, Privilege.WRITE)
        states = self.spec.states
        assert states is not None
        if statecode != record.statecode:  # type: ignore[attr-defined]
            raise Conflict(f"change the state of a {self.entity_name} with its actions: {self.verb_names}")
        if statecode in states.closed:
            raise Conflict(f"this {self.entity_name} is {states.state(statecode).name} and read-only")
        return super().set_state(record_id, statecode, statuscode, action)

    def move(self, record: Any, statecode: int, statuscode: int | None, action: str) -> None:
        """A verb's state change, checked against the document's transitions."""
        states = self.spec.states
        assert states is not None
        new_state, new_status = states.resolve(statecode, statuscode)
        if new_state == record.statecode or new_state not in states.transitions.get(record.statecode, ()):
            current = states.state(record.statecode).name
            raise InvalidStateTransition(
                f"cannot {action} a {self.entity_name} that is {current}")
        self.uow.set_action(action)
        record.statecode, record.statuscode = new_state, new_status

    def derive(self, source: Any, target_service: "SalesDocumentService[Any]", **extra: Any) -> Any:
        """A new document of `target_service`'s kind, copying `source`'s header and lines, owned by the
        caller (who needs create on it), with a new number: an order from a quote, an invoice from an order."""
        target_service.principal.require(target_service.entity_name, Privilege.CREATE)
        target = target_service.new_record(OwnerRef("user", self.principal.user_id))
        for name in COPIED_HEADER:
            setattr(target, name, getattr(source, name))
        for name, value in extra.items():
            setattr(target, name, value)
        setattr(target, target_service.number_column,
                autonumber.next_number(self.session, target_service.number_prefix))
        self.session.add(target)
        document_lines.copy_lines(source, target, target_service.line_model, target_service.parent_key)
        return target


def today() -> date:
    """Close, fulfilment and payment dates default to today in UTC, as every stored time is."""
    return utcnow().date()
