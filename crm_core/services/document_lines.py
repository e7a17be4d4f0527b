"""The lines of quotes, orders and invoices: what a line names (a product in a unit, or a write-in), where
its price comes from, and its amounts (DOMAIN.md §6). The formulas themselves are in services.pricing."""

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core import catalog_states as cs
from crm_core.db import column_limits
from crm_core.errors import ValidationFailed
from crm_core.models import PriceList, PriceListItem, Product, Unit
from crm_core.security.principal import Principal
from crm_core.services import pricing
from crm_core.services.catalog import catalog_record
from crm_core.services.price_lists import item_price
from crm_core.services.pricing import PricingMethod

LINE_FIELDS = ("product_id", "unit_id", "product_description", "description", "quantity", "price_per_unit",
               "is_price_overridden", "manual_discount_amount", "tax")
# The line columns a copy (revise, win, invoice) carries over; the parent key and the id are new.
COPIED_FIELDS = (*LINE_FIELDS, "line_number", "currency_code", "base_amount", "extended_amount")


def prefixed(exc: ValidationFailed, prefix: str) -> ValidationFailed:
    """The same error with its fields named inside a list (lines[0].quantity)."""
    errors = [{**e, "field": prefix + e["field"]} for e in exc.extra.get("errors", [])]
    return ValidationFailed(f"{prefix}{exc.detail}", errors)


def apply_line(session: Session, principal: Principal, doc: Any, line: Any, values: dict[str, Any],
               creating: bool) -> None:
    """Sets the given fields of a line and prices it. The price comes from the document's price list when
    the line is new, or its product or unit changed, or its price stops being overridden; otherwise it
    stays (a locked document's lines never follow the price list by themselves)."""
    values = pricing.scaled(values)
    column_limits.check_values(type(line), values)
    if "product_id" in values and values["product_id"] is None and "unit_id" not in values:
        values = {**values, "unit_id": None}  # a product line turned write-in loses its unit
    for key in LINE_FIELDS:
        if key in values:
            setattr(line, key, values[key])
    if "price_per_unit" in values and "is_price_overridden" not in values:
        line.is_price_overridden = values["price_per_unit"] is not None
    reprice = creating or "product_id" in values or "unit_id" in values or (
        "is_price_overridden" in values and not line.is_price_overridden)
    if line.product_id is None:
        _write_in(line)
    else:
        _product_line(session, principal, doc, line, reprice, check_product="product_id" in values or creating)
    if line.quantity is None or line.quantity <= 0:
        raise ValidationFailed.field("quantity", "more than 0")
    for name in ("manual_discount_amount", "tax"):
        if getattr(line, name) is None:
            setattr(line, name, pricing.ZERO)
        if getattr(line, name) < 0:
            raise ValidationFailed.field(name, "cannot be negative")
    amounts = pricing.line_amounts(line.price_per_unit, line.quantity, line.manual_discount_amount, line.tax)
    for name, value in (("base_amount", amounts.base_amount), ("extended_amount", amounts.extended_amount)):
        column_limits.check(type(line).__table__.c[name], value, "quantity")  # a price x quantity too large
    line.base_amount, line.extended_amount = amounts.base_amount, amounts.extended_amount
    line.currency_code = doc.currency_code


def _write_in(line: Any) -> None:
    if line.unit_id is not None:
        raise ValidationFailed.field("unit_id", "a write-in line (no product_id) has no unit")
    line.product_description = (line.product_description or "").strip() or None
    if line.product_description is None:
        raise ValidationFailed.field("product_description", "a write-in line (no product_id) needs a description")
    if line.price_per_unit is None:
        raise ValidationFailed.field("price_per_unit", "a write-in line (no product_id) needs its price")
    if line.price_per_unit < 0:
        raise ValidationFailed.field("price_per_unit", "cannot be negative")
    line.is_price_overridden = True


def _product_line(session: Session, principal: Principal, doc: Any, line: Any, reprice: bool,
                  check_product: bool) -> None:
    if line.product_description is not None:
        raise ValidationFailed.field("product_description", "only a write-in line (no product_id) has one")
    product: Product = catalog_record(session, principal, "product", line.product_id, "product_id")
    if check_product and product.statecode not in cs.SELLABLE_PRODUCT_STATES:
        state = cs.PRODUCT.state(product.statecode).name
        raise ValidationFailed.field("product_id", f"product {product.product_number} is {state}; "
                                     "only Active products are sold")
    if line.unit_id is None:
        line.unit_id = product.default_unit_id
    unit = session.get(Unit, line.unit_id)
    if unit is None or unit.unit_group_id != product.unit_group_id:
        raise ValidationFailed.field("unit_id", f"not a unit of the unit group of product {product.product_number}")
    item = _item(session, doc, product, unit) if doc.price_list_id is not None else None
    if line.is_price_overridden:
        if line.price_per_unit is None:
            raise ValidationFailed.field("price_per_unit", "an overridden price needs a price_per_unit")
        if line.price_per_unit < 0:
            raise ValidationFailed.field("price_per_unit", "cannot be negative")
    elif reprice or line.price_per_unit is None:
        line.price_per_unit = list_price(session, doc, product, unit, item)
    _check_quantity(line.quantity, product, item)


def _item(session: Session, doc: Any, product: Product, unit: Unit) -> PriceListItem | None:
    return session.scalars(select(PriceListItem).where(
        PriceListItem.price_list_id == doc.price_list_id, PriceListItem.product_id == product.id,
        PriceListItem.unit_id == unit.id)).first()


def list_price(session: Session, doc: Any, product: Product, unit: Unit, item: PriceListItem | None) -> Decimal:
    """The price per unit from the document's price list, or a 422 saying why there is none."""
    if doc.price_list_id is None:
        raise ValidationFailed.field(
            "product_id", "the document has no price list to price this product; set its price_list_id, "
            "or give the line a price_per_unit")
    price_list = session.get(PriceList, doc.price_list_id)
    assert price_list is not None
    if item is None:
        raise ValidationFailed.field(
            "product_id", f"product {product.product_number} is not on price list {price_list.name!r} "
            f"in unit {unit.name!r}")
    if price_list.statecode != 0:
        raise ValidationFailed.field("product_id", f"price list {price_list.name!r} is inactive")
    if item.pricing_method_code == PricingMethod.PERCENT_OF_LIST and product.currency_code != doc.currency_code:
        raise ValidationFailed.field(
            "product_id", f"the list price of {product.product_number} is in {product.currency_code}, "
            f"not {doc.currency_code}; a % of List price needs them equal")
    default_unit = session.get(Unit, product.default_unit_id)
    assert default_unit is not None
    try:
        return item_price(item, product, unit, default_unit)
    except ValidationFailed as exc:
        raise ValidationFailed.field("product_id", f"price list item of {product.product_number}: {exc.detail}"
                                     ) from None


def _check_quantity(quantity: Decimal | None, product: Product, item: PriceListItem | None) -> None:
    if quantity is None:
        return
    decimals = max(0, -int(quantity.normalize().as_tuple().exponent))
    if decimals > (product.quantity_decimal or 0):
        raise ValidationFailed.field(
            "quantity", f"product {product.product_number} takes {product.quantity_decimal or 0} decimals")
    if item is not None and item.quantity_selling_code == 2 and quantity != quantity.to_integral_value():
        raise ValidationFailed.field("quantity", f"product {product.product_number} is sold in whole units only")


def reprice_all(session: Session, principal: Principal, doc: Any) -> None:
    """After a price list change: every product line not overridden takes the new list's price."""
    for line in doc.lines:
        if line.product_id is None or line.is_price_overridden:
            continue
        try:
            apply_line(session, principal, doc, line, {"unit_id": line.unit_id}, creating=False)
        except ValidationFailed as exc:
            raise ValidationFailed.field("price_list_id", f"line {line.line_number}: {exc.detail}") from None


def copy_lines(source: Any, target: Any, line_model: type[Any], parent_key: str) -> None:
    for line in source.lines:
        copy = line_model(id=uuid.uuid4(), **{k: getattr(line, k) for k in COPIED_FIELDS})
        setattr(copy, parent_key, target.id)
        target.lines.append(copy)
