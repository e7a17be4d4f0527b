"""The product catalogue: unit groups with their units, and products (DOMAIN.md §4).

Catalogue records belong to the organisation (no owner): the System Administrator's role changes them,
every role reads them. Price lists and their items are in crm_core.services.price_lists."""

import uuid
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from sqlalchemy import exists, func, select

from crm_core import catalog_states as cs
from crm_core.db import column_limits
from crm_core.entities import entity
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.models import (
    InvoiceLine,
    OrderLine,
    PriceListItem,
    Product,
    QuoteLine,
    Unit,
    UnitGroup,
)
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege
from crm_core.services.pricing import check_currency, scaled
from crm_core.services.records import OwnerRef, RecordService

M = TypeVar("M")
LINE_MODELS = (QuoteLine, OrderLine, InvoiceLine)


def catalog_record(session: Any, principal: Principal, entity_name: str, record_id: uuid.UUID | None,
                   field: str) -> Any:
    """A catalogue record named by a lookup: it must exist; reading the catalogue is all it takes to use it
    (catalogue records take no Append To: they are the organisation's reference data)."""
    spec = entity(entity_name)
    principal.require(entity_name, Privilege.READ)
    record = session.get(spec.model, record_id) if record_id is not None else None
    if record is None:
        raise ValidationFailed.field(field, f"no {entity_name.replace('_', ' ')} with id {record_id}")
    return record


def _used_by_lines(session: Any, column: str, value: uuid.UUID) -> bool:
    return any(session.scalar(select(exists().where(getattr(m, column) == value))) for m in LINE_MODELS)


class OrgRecordService(RecordService[M]):
    """An organisation-level record: created without an owner, in the state `initial_state`."""

    initial_state: ClassVar[int] = 0

    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> M:
        self.principal.require(self.entity_name, Privilege.CREATE)
        record = self.model(id=uuid.uuid4())
        if self.spec.states is not None:
            record.statecode, record.statuscode = self.spec.states.resolve(self.initial_state, None)  # type: ignore[attr-defined]
        self.apply(record, values, creating=True)
        self.session.add(record)
        self.after_create(record, values)
        self.session.flush()
        self.uow.commit()
        return record

    def after_create(self, record: M, values: dict[str, Any]) -> None:
        """Child rows made with the record, in the same transaction."""

    def apply(self, record: M, values: dict[str, Any], creating: bool) -> None:
        super().apply(record, scaled(values), creating)


class UnitGroupService(OrgRecordService[UnitGroup]):
    """A unit group is created with its base unit (Dynamics' primary unit, quantity 1); other units are
    `quantity` base units. An inactive group is read-only and offers no units to new products."""

    entity_name = "unit_group"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> UnitGroup:
        values = dict(values)
        self._base_name = (values.pop("base_unit_name", None) or "").strip()
        if not self._base_name:
            raise ValidationFailed.field("base_unit_name", "a unit group needs the name of its base unit")
        column_limits.check(Unit.__table__.c.name, self._base_name, "base_unit_name")
        return super().create(values)

    def after_create(self, record: UnitGroup, values: dict[str, Any]) -> None:
        record.units.append(Unit(id=uuid.uuid4(), unit_group_id=record.id, name=self._base_name,
                                 quantity=Decimal("1.0000"), is_base=True))

    def validate(self, record: UnitGroup, values: dict[str, Any], creating: bool) -> None:
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "a unit group needs a name")
        if "name" in values:
            taken = self.session.scalar(select(UnitGroup.id).where(UnitGroup.name == record.name,
                                                                   UnitGroup.id != record.id))
            if taken is not None:
                raise Conflict(f"a unit group named {record.name!r} exists already")

    def before_delete(self, record: UnitGroup) -> None:
        used = self.session.scalar(select(func.count()).select_from(Product).where(Product.unit_group_id == record.id))
        if used:
            raise Conflict(f"{used} products use this unit group; deactivate it instead")

    # --- units ---------------------------------------------------------------------------------------
    def add_unit(self, group_id: uuid.UUID, values: dict[str, Any]) -> Unit:
        group = self.get(group_id, Privilege.WRITE)
        self.ensure_editable(group)
        unit = Unit(id=uuid.uuid4(), unit_group_id=group.id, is_base=False)
        self._apply_unit(group, unit, values)
        group.units.append(unit)
        self.session.flush()
        self.uow.commit()
        return unit

    def update_unit(self, group_id: uuid.UUID, unit_id: uuid.UUID, values: dict[str, Any]) -> Unit:
        group = self.get(group_id, Privilege.WRITE)
        self.ensure_editable(group)
        unit = self._unit(group, unit_id)
        if unit.is_base and "quantity" in values and values["quantity"] != 1:
            raise ValidationFailed.field("quantity", "the base unit is always 1 of itself")
        self._apply_unit(group, unit, values)
        self.session.flush()
        self.uow.commit()
        return unit

    def delete_unit(self, group_id: uuid.UUID, unit_id: uuid.UUID) -> None:
        group = self.get(group_id, Privilege.WRITE)
        self.ensure_editable(group)
        unit = self._unit(group, unit_id)
        if unit.is_base:
            raise Conflict("the base unit of a group cannot be deleted")
        in_use = (
            self.session.scalar(select(exists().where(Product.default_unit_id == unit.id)))
            or self.session.scalar(select(exists().where(PriceListItem.unit_id == unit.id)))
            or _used_by_lines(self.session, "unit_id", unit.id)
        )
        if in_use:
            raise Conflict(f"the unit {unit.name!r} is used by products, price list items or document lines")
        group.units.remove(unit)
        self.session.flush()
        self.uow.commit()

    def _unit(self, group: UnitGroup, unit_id: uuid.UUID) -> Unit:
        for unit in group.units:
            if unit.id == unit_id:
                return unit
        raise NotFound(f"no unit with id {unit_id} in this unit group")

    def _apply_unit(self, group: UnitGroup, unit: Unit, values: dict[str, Any]) -> None:
        values = scaled(values)
        column_limits.check_values(Unit, values)
        for key in ("name", "quantity"):
            if key in values:
                setattr(unit, key, values[key])
        unit.name = (unit.name or "").strip()
        if not unit.name:
            raise ValidationFailed.field("name", "a unit needs a name")
        if unit.quantity is None or unit.quantity <= 0:
            raise ValidationFailed.field("quantity", "the number of base units in this unit, more than 0")
        if any(u.name == unit.name and u.id != unit.id for u in group.units):
            raise Conflict(f"the unit group has a unit named {unit.name!r} already")


class ProductService(OrgRecordService[Product]):
    """Products are born Draft, editable while Draft or Under Revision; publish makes them Active (and
    sellable), revise reopens an Active one for changes, retire withdraws one (DOMAIN.md §4). An Active
    product is read-only: in Dynamics a change to a published product goes through revise and publish."""

    entity_name = "product"
    initial_state = cs.PRODUCT_DRAFT
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name", "product_number"}

    def validate(self, record: Product, values: dict[str, Any], creating: bool) -> None:
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "a product needs a name")
        record.product_number = (record.product_number or "").strip()
        if not record.product_number:
            raise ValidationFailed.field("product_number", "a product needs a product number (its ID)")
        if "product_number" in values:
            taken = self.session.scalar(select(Product.id).where(Product.product_number == record.product_number,
                                                                 Product.id != record.id))
            if taken is not None:
                raise Conflict(f"product number {record.product_number!r} is taken by another product")
        check_currency(record.currency_code)
        record.product_type_code = record.product_type_code or 1  # null in a PATCH: back to the default
        record.quantity_decimal = record.quantity_decimal or 0
        if not 0 <= record.quantity_decimal <= 4:
            raise ValidationFailed.field("quantity_decimal", "0 to 4 decimals")
        for money in ("list_price", "standard_cost", "current_cost"):
            if (getattr(record, money) or 0) < 0:
                raise ValidationFailed.field(money, "cannot be negative")
        if "unit_group_id" in values or "default_unit_id" in values or creating:
            self._check_units(record, values, creating)
        if values.get("default_price_list_id") is not None:
            catalog_record(self.session, self.principal, "price_list", record.default_price_list_id,
                           "default_price_list_id")

    def _check_units(self, record: Product, values: dict[str, Any], creating: bool) -> None:
        with self.session.no_autoflush:
            group = catalog_record(self.session, self.principal, "unit_group", record.unit_group_id, "unit_group_id")
            if "unit_group_id" in values and group.statecode != 0:
                raise ValidationFailed.field("unit_group_id", f"the unit group {group.name!r} is inactive")
            if record.default_unit_id is None:
                raise ValidationFailed.field("default_unit_id", "a product needs a default unit of its unit group")
            if record.default_unit_id not in {u.id for u in group.units}:
                raise ValidationFailed.field("default_unit_id", f"not a unit of the unit group {group.name!r}")
            if creating or "unit_group_id" not in values:
                return
            changed = self.session.scalar(select(Product.unit_group_id).where(Product.id == record.id))
            if changed != record.unit_group_id and (
                self.session.scalar(select(exists().where(PriceListItem.product_id == record.id)))
                or _used_by_lines(self.session, "product_id", record.id)
            ):
                raise Conflict("this product is priced on price lists or used by document lines; "
                               "its unit group cannot change")

    def ensure_editable(self, record: Product) -> None:
        if record.statecode == cs.PRODUCT_ACTIVE:
            raise Conflict("this product is Active and read-only; revise it, change it, then publish it")
        if record.statecode == cs.PRODUCT_RETIRED:
            raise Conflict("this product is Retired and read-only; publish it again first")

    def before_delete(self, record: Product) -> None:
        if _used_by_lines(self.session, "product_id", record.id):
            raise Conflict("this product is on quotes, orders or invoices; retire it instead")
        # Its price list items go with it (ON DELETE CASCADE); price lists' audit records the deletion.
        for item in self.session.scalars(select(PriceListItem).where(PriceListItem.product_id == record.id)):
            self.session.delete(item)

