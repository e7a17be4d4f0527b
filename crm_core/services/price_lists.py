"""Price lists (Dynamics' pricelevel) and their items (productpricelevel): the price of a product in one
of its units, as a currency amount or a percentage of the product's list price, with a rounding rule.

An inactive price list is read-only and prices nothing new; its items live and die with it."""

import uuid
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import exists, select

from crm_core.db import column_limits
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.models import Invoice, Order, PriceList, PriceListItem, Product, Quote, Unit
from crm_core.security.privileges import Privilege
from crm_core.services import pricing
from crm_core.services.catalog import OrgRecordService, catalog_record
from crm_core.services.pricing import PricingMethod, RoundingPolicy

ITEM_FIELDS = ("unit_id", "pricing_method_code", "amount", "percentage", "rounding_policy_code",
               "rounding_option_code", "rounding_option_amount", "quantity_selling_code")


class PriceListService(OrgRecordService[PriceList]):
    entity_name = "price_list"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def validate(self, record: PriceList, values: dict[str, Any], creating: bool) -> None:
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "a price list needs a name")
        check_currency_change = not creating and "currency_code" in values
        pricing.check_currency(record.currency_code)
        if record.begin_date and record.end_date and record.end_date < record.begin_date:
            raise ValidationFailed.field("end_date", "the end date comes before the begin date")
        if check_currency_change:
            with self.session.no_autoflush:
                stored = self.session.scalar(select(PriceList.currency_code).where(PriceList.id == record.id))
                if stored != record.currency_code and self.session.scalar(
                        select(exists().where(PriceListItem.price_list_id == record.id))):
                    raise Conflict("this price list has items priced in its currency; "
                                   "its currency cannot change")

    def before_delete(self, record: PriceList) -> None:
        for model in (Quote, Order, Invoice):
            if self.session.scalar(select(exists().where(model.price_list_id == record.id))):
                raise Conflict(f"{model.__tablename__} use this price list; deactivate it instead")

    # --- items ---------------------------------------------------------------------------------------
    def items(self, price_list_id: uuid.UUID) -> list[PriceListItem]:
        self.get(price_list_id)
        return list(self.session.scalars(
            select(PriceListItem).join(Product, Product.id == PriceListItem.product_id)
            .where(PriceListItem.price_list_id == price_list_id)
            .order_by(Product.product_number, PriceListItem.created_on)
        ))

    def item(self, price_list_id: uuid.UUID, item_id: uuid.UUID, privilege: Privilege = Privilege.READ
             ) -> PriceListItem:
        price_list = self.get(price_list_id, privilege)
        if privilege is not Privilege.READ:
            self.ensure_editable(price_list)
        item = self.session.get(PriceListItem, item_id)
        if item is None or item.price_list_id != price_list_id:
            raise NotFound(f"no item with id {item_id} on this price list")
        return item

    def add_item(self, price_list_id: uuid.UUID, values: dict[str, Any]) -> PriceListItem:
        price_list = self.get(price_list_id, Privilege.WRITE)
        self.ensure_editable(price_list)
        with self.session.no_autoflush:
            product = catalog_record(self.session, self.principal, "product", values.get("product_id"), "product_id")
            item = PriceListItem(id=uuid.uuid4(), price_list_id=price_list.id, product_id=product.id,
                                 currency_code=price_list.currency_code,
                                 unit_id=values.get("unit_id") or product.default_unit_id)
            self._apply_item(price_list, product, item, values)
            if self.session.scalar(select(PriceListItem.id).where(
                    PriceListItem.price_list_id == price_list.id, PriceListItem.product_id == product.id,
                    PriceListItem.unit_id == item.unit_id)) is not None:
                raise Conflict("this price list prices that product in that unit already; change that item")
        self.session.add(item)
        self.session.flush()
        self.uow.commit()
        return item

    def update_item(self, price_list_id: uuid.UUID, item_id: uuid.UUID, values: dict[str, Any]) -> PriceListItem:
        item = self.item(price_list_id, item_id, Privilege.WRITE)
        price_list = self.session.get(PriceList, price_list_id)
        assert price_list is not None
        with self.session.no_autoflush:
            product = self.session.get(Product, item.product_id)
            assert product is not None
            self._apply_item(price_list, product, item, values)
            if "unit_id" in values and self.session.scalar(select(PriceListItem.id).where(
                    PriceListItem.price_list_id == price_list.id, PriceListItem.product_id == product.id,
                    PriceListItem.unit_id == item.unit_id, PriceListItem.id != item.id)) is not None:
                raise Conflict("this price list prices that product in that unit already; change that item")
        self.session.flush()
        self.uow.commit()
        return item

    def delete_item(self, price_list_id: uuid.UUID, item_id: uuid.UUID) -> None:
        item = self.item(price_list_id, item_id, Privilege.WRITE)
        self.session.delete(item)
        self.session.flush()
        self.uow.commit()

    def _apply_item(self, price_list: PriceList, product: Product, item: PriceListItem,
                    values: dict[str, Any]) -> None:
        values = pricing.scaled(values)
        column_limits.check_values(PriceListItem, values)
        for key in ITEM_FIELDS:
            if key in values and (values[key] is not None or key != "unit_id"):
                setattr(item, key, values[key])
        unit = self.session.get(Unit, item.unit_id)
        if unit is None or unit.unit_group_id != product.unit_group_id:
            raise ValidationFailed.field("unit_id", f"not a unit of the unit group of product {product.product_number}")
        item.quantity_selling_code = item.quantity_selling_code or 1
        method = item.pricing_method_code or PricingMethod.CURRENCY_AMOUNT
        item.pricing_method_code = method
        if method not in pricing.SUPPORTED_METHODS:
            raise ValidationFailed.field(
                "pricing_method_code",
                f"pricing method {method} (cost-based) is not supported; use 1 (Currency Amount) or 2 (% of List)")
        for name in ("amount", "percentage", "rounding_option_amount"):
            if (getattr(item, name) or 0) < 0:
                raise ValidationFailed.field(name, "cannot be negative")
        if method == PricingMethod.PERCENT_OF_LIST and product.currency_code != price_list.currency_code:
            raise ValidationFailed.field(
                "pricing_method_code", f"% of List needs the product's list price in {price_list.currency_code}; "
                f"it is in {product.currency_code} and there are no exchange rates")
        if (item.rounding_policy_code or RoundingPolicy.NONE) == RoundingPolicy.NONE:
            item.rounding_policy_code = RoundingPolicy.NONE
            item.rounding_option_code = item.rounding_option_amount = None
        elif item.rounding_option_code is None:
            raise ValidationFailed.field("rounding_option_code",
                                         "a rounding policy needs 1 (Ends in) or 2 (Multiple of)")
        default_unit = self.session.get(Unit, product.default_unit_id)
        assert default_unit is not None
        # Pricing once now refuses what would fail on every quote line later (a missing amount, a
        # percentage of a product without a list price, a rounding without an amount).
        column_limits.check(PriceListItem.__table__.c.amount, item_price(item, product, unit, default_unit),
                            "percentage")


def item_price(item: PriceListItem, product: Product, unit: Unit, default_unit: Unit) -> Decimal:
    """What one `unit` of `product` costs on this item (crm_core.services.pricing.item_price)."""
    return pricing.item_price(
        item.pricing_method_code, item.amount, item.percentage, product.list_price, unit.quantity,
        default_unit.quantity, item.rounding_policy_code, item.rounding_option_code, item.rounding_option_amount)
