"""Prices and totals of sales documents: pure functions on Decimals, no database (DOMAIN.md §4, §6).

Every amount is a Decimal in the currency of the record that carries it, stored with 4 decimal places
(Numeric(19,4)). Intermediate products are exact (Decimal arithmetic never rounds below 28 digits here);
each stored amount is rounded once, to 4 places, half up (`money`).

Price of a price list item (Dynamics' productpricelevel), before rounding:
    1 Currency Amount:  price = amount
    2 % of List:        price = list_price * (unit.quantity / default_unit.quantity) * percentage / 100
        The product's list price is for its default unit; an item in another unit of the group scales it
        by the ratio of the two units (a Dozen of a product listed at 2.00 Each is 24.00 at 100 %).
        (Dynamics' behaviour for other units is unconfirmed; this is our choice.)
    3-6 (% markup / margin of current or standard cost) are not supported and refused.
Then the item's rounding policy (`round_price`), then `money`.

A line (quotedetail, salesorderdetail, invoicedetail), with price_per_unit from the item (or typed):
    base_amount     = money(price_per_unit * quantity)
    extended_amount = base_amount - manual_discount_amount + tax
    (Dynamics also subtracts a volume discount * quantity; discount lists are not supported, so it is 0.)

The header, recomputed on every line or header change:
    total_line_item_amount          = Σ (base_amount - manual_discount_amount)      (pre-tax)
    total_line_item_discount_amount = Σ manual_discount_amount
    total_discount_amount           = discount_amount + money(total_line_item_amount * discount_percentage / 100)
    total_amount_less_freight       = total_line_item_amount - total_discount_amount
    total_tax                       = Σ tax
    total_amount                    = total_amount_less_freight + freight_amount + total_tax
DOMAIN.md marks the grouping of the line formula, the pre-tax line total and the header discount formula as
unconfirmed; these are the readings of its text, and the tests pin them."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import IntEnum
from typing import Any

from crm_core.errors import ValidationFailed

CENT = Decimal("0.0001")  # the stored scale of every amount
ZERO = Decimal("0.0000")
LIMIT = Decimal(10) ** 15  # Numeric(19,4): 15 digits before the point
HUNDRED = Decimal(100)
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class PricingMethod(IntEnum):
    CURRENCY_AMOUNT = 1
    PERCENT_OF_LIST = 2
    PERCENT_MARKUP_CURRENT_COST = 3
    PERCENT_MARGIN_CURRENT_COST = 4
    PERCENT_MARKUP_STANDARD_COST = 5
    PERCENT_MARGIN_STANDARD_COST = 6


SUPPORTED_METHODS = frozenset({PricingMethod.CURRENCY_AMOUNT, PricingMethod.PERCENT_OF_LIST})


class RoundingPolicy(IntEnum):
    NONE = 1
    UP = 2
    DOWN = 3
    TO_NEAREST = 4


class RoundingOption(IntEnum):
    ENDS_IN = 1
    MULTIPLE_OF = 2


def check_currency(value: str | None, field: str = "currency_code") -> str:
    """An ISO 4217 code: three upper-case letters."""
    if value is None or not _CURRENCY.match(value):
        raise ValidationFailed.field(field, "an ISO 4217 currency code: three upper-case letters such as EUR")
    return value


def money(value: Decimal, field: str = "amount") -> Decimal:
    """An amount as stored: 4 decimal places, half up (0.00005 → 0.0001). Beyond what a Numeric(19,4) column
    holds it is refused, naming `field` (the input that made it so large)."""
    return fits(value, field).quantize(CENT, rounding=ROUND_HALF_UP)


def fits(value: Decimal, field: str) -> Decimal:
    if not value.is_finite() or abs(value) >= LIMIT:
        raise ValidationFailed.field(field, f"makes an amount of {value:.4E}; at most 15 digits before the point")
    return value


def scaled(values: dict[str, Any]) -> dict[str, Any]:
    """The values with every Decimal at the stored scale (4 places), so that what a service returns reads as
    what a later GET will: "10" is 10.0000. The API admits at most 4 decimals, so nothing is rounded away."""
    return {k: money(v) if isinstance(v, Decimal) else v for k, v in values.items()}


def round_price(price: Decimal, policy: int, option: int | None, amount: Decimal | None) -> Decimal:
    """Applies a price list item's rounding (roundingpolicycode, roundingoptioncode, its amount):

    - Multiple of `amount`: Up = the next multiple at or above, Down = the one at or below, To Nearest =
      the closest (half way goes up). 10.12 as a multiple of 0.05: Up 10.15, Down 10.10, Nearest 10.10.
    - Ends in `amount`: the candidates are n * step + amount for whole n ≥ 0, where step is the smallest
      power of ten above `amount` (0.99 → 1, 5 → 10, 95 → 100). 10.12 ending in 0.99: Up 10.99, Down 9.99,
      Nearest 9.99. A price below the first candidate rounds Down to 0 and To Nearest up to that candidate.
    """
    if policy == RoundingPolicy.NONE:
        return price
    if option is None or amount is None or amount <= 0:
        raise ValidationFailed.field("rounding_option_amount", "a rounding policy needs an option and an amount > 0")
    if option == RoundingOption.MULTIPLE_OF:
        mode = {RoundingPolicy.UP: ROUND_CEILING, RoundingPolicy.DOWN: ROUND_FLOOR}.get(
            RoundingPolicy(policy), ROUND_HALF_UP)
        return (price / amount).quantize(Decimal(1), rounding=mode) * amount
    step = Decimal(1)
    while step <= amount:
        step *= 10
    n_down = ((price - amount) / step).quantize(Decimal(1), rounding=ROUND_FLOOR)
    down = n_down * step + amount
    up = down if down == price else down + step
    if policy == RoundingPolicy.UP:
        return up
    if down < 0:  # no candidate at or below the price
        return Decimal(0) if policy == RoundingPolicy.DOWN else up
    if policy == RoundingPolicy.DOWN:
        return down
    return up if up - price <= price - down else down


def item_price(method: int, amount: Decimal | None, percentage: Decimal | None, list_price: Decimal | None,
               unit_quantity: Decimal, default_unit_quantity: Decimal, rounding_policy: int = RoundingPolicy.NONE,
               rounding_option: int | None = None, rounding_amount: Decimal | None = None) -> Decimal:
    """The price per unit a price list item gives (see the module's formulas)."""
    if method == PricingMethod.CURRENCY_AMOUNT:
        if amount is None:
            raise ValidationFailed.field("amount", "pricing method 1 (Currency Amount) needs an amount")
        raw = amount
    elif method == PricingMethod.PERCENT_OF_LIST:
        if percentage is None:
            raise ValidationFailed.field("percentage", "pricing method 2 (% of List) needs a percentage")
        if list_price is None:
            raise ValidationFailed.field("pricing_method_code", "% of List needs a product with a list price")
        raw = list_price * unit_quantity / default_unit_quantity * percentage / HUNDRED
    else:
        raise ValidationFailed.field(
            "pricing_method_code",
            f"pricing method {method} is not supported; use 1 (Currency Amount) or 2 (% of List)")
    field = "percentage" if method == PricingMethod.PERCENT_OF_LIST else "amount"
    return money(round_price(fits(raw, field), rounding_policy, rounding_option, rounding_amount), field)


@dataclass(frozen=True)
class LineAmounts:
    base_amount: Decimal
    manual_discount_amount: Decimal
    tax: Decimal
    extended_amount: Decimal


def line_amounts(price_per_unit: Decimal, quantity: Decimal, manual_discount_amount: Decimal = ZERO,
                 tax: Decimal = ZERO) -> LineAmounts:
    """A line's amounts; a discount larger than the line's amount is refused (it would make it negative)."""
    base = money(price_per_unit * quantity, "quantity")
    if manual_discount_amount > base:
        raise ValidationFailed.field(
            "manual_discount_amount", f"the discount {manual_discount_amount} exceeds the line's amount {base}")
    return LineAmounts(base, manual_discount_amount, tax, base - manual_discount_amount + tax)


@dataclass(frozen=True)
class Totals:
    total_line_item_amount: Decimal
    total_line_item_discount_amount: Decimal
    total_discount_amount: Decimal
    total_amount_less_freight: Decimal
    total_tax: Decimal
    total_amount: Decimal


def document_totals(lines: Iterable[LineAmounts], discount_percentage: Decimal = ZERO,
                    discount_amount: Decimal = ZERO, freight_amount: Decimal = ZERO) -> Totals:
    """The header totals (see the module's formulas). A document discount larger than the lines' amount
    is refused: the total before freight and tax would be negative."""
    lines = list(lines)
    line_items = sum((x.base_amount - x.manual_discount_amount for x in lines), ZERO)
    line_discounts = sum((x.manual_discount_amount for x in lines), ZERO)
    tax = sum((x.tax for x in lines), ZERO)
    discount = discount_amount + money(line_items * discount_percentage / HUNDRED, "discount_percentage")
    if discount > line_items:
        raise ValidationFailed.field(
            "discount_amount", f"the document's discount {discount} exceeds the amount of its lines {line_items}")
    less_freight = line_items - discount
    return Totals(line_items, line_discounts, discount, less_freight, tax, less_freight + freight_amount + tax)
