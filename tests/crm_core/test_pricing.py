"""The pricing formulas of crm_core.services.pricing, one by one, with exact Decimals (no database)."""

from decimal import Decimal as D  # noqa: N817  (short: the tests are mostly numbers)

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_core.errors import ValidationFailed
from crm_core.services.pricing import (
    LineAmounts,
    check_currency,
    document_totals,
    item_price,
    line_amounts,
    money,
    round_price,
)

UP, DOWN, NEAREST, NONE = 2, 3, 4, 1
ENDS_IN, MULTIPLE_OF = 1, 2


def test_money_rounds_half_up_to_four_places() -> None:
    assert money(D("1.00005")) == D("1.0001")
    assert money(D("1.00004999")) == D("1.0000")
    assert money(D("2.5")) == D("2.5000")
    assert str(money(D("0.1") + D("0.2"))) == "0.3000"  # exact, unlike floats


def test_amounts_beyond_the_column_are_refused_naming_the_input() -> None:
    with pytest.raises(ValidationFailed) as err:
        line_amounts(D("999999999999999"), D(2))
    assert err.value.extra["errors"][0]["field"] == "quantity"
    with pytest.raises(ValidationFailed) as err:
        item_price(2, None, D("999999999999999"), D("999999999999999"), D(1), D(1))
    assert err.value.extra["errors"][0]["field"] == "percentage"


@pytest.mark.parametrize(("policy", "expected"), [(UP, "10.15"), (DOWN, "10.10"), (NEAREST, "10.10")])
def test_rounding_to_a_multiple(policy: int, expected: str) -> None:
    assert round_price(D("10.12"), policy, MULTIPLE_OF, D("0.05")) == D(expected)


def test_rounding_to_the_nearest_multiple_goes_up_half_way() -> None:
    assert round_price(D("10.125"), NEAREST, MULTIPLE_OF, D("0.05")) == D("10.15")
    assert round_price(D("10.20"), UP, MULTIPLE_OF, D("0.05")) == D("10.20")  # already a multiple


@pytest.mark.parametrize(("price", "policy", "amount", "expected"), [
    ("10.12", UP, "0.99", "10.99"),
    ("10.12", DOWN, "0.99", "9.99"),
    ("10.12", NEAREST, "0.99", "9.99"),
    ("10.80", NEAREST, "0.99", "10.99"),
    ("10.99", UP, "0.99", "10.99"),  # already ends in .99
    ("123", UP, "5", "125"),  # ends in 5: step 10
    ("121", DOWN, "5", "115"),
    ("1234", NEAREST, "95", "1195"),  # ends in 95: step 100 (1195 is 39 away, 1295 is 61)
    ("0.50", DOWN, "0.99", "0"),  # nothing ending in .99 at or below 0.50: never negative
    ("0.50", NEAREST, "0.99", "0.99"),
])
def test_rounding_to_ends_in(price: str, policy: int, amount: str, expected: str) -> None:
    assert round_price(D(price), policy, ENDS_IN, D(amount)) == D(expected)


def test_no_rounding_keeps_the_price_and_a_policy_needs_an_amount() -> None:
    assert round_price(D("10.123456"), NONE, None, None) == D("10.123456")
    with pytest.raises(ValidationFailed):
        round_price(D("10"), UP, MULTIPLE_OF, None)
    with pytest.raises(ValidationFailed):
        round_price(D("10"), UP, MULTIPLE_OF, D(0))


def test_currency_amount_price() -> None:
    assert item_price(1, D("19.99"), None, None, D(1), D(1)) == D("19.9900")


def test_percent_of_list_price_scales_with_the_unit() -> None:
    # 90 % of a 2.50 list price; a Dozen is 12 Each (the default unit).
    assert item_price(2, None, D(90), D("2.50"), D(1), D(1)) == D("2.2500")
    assert item_price(2, None, D(90), D("2.50"), D(12), D(1)) == D("27.0000")
    # Exact: 1/3 of 10.00 is 3.3333..., stored to 4 places half up.
    assert item_price(2, None, D("33.3333"), D("10.00"), D(1), D(1)) == D("3.3333")
    # With the item's rounding: up to a multiple of 0.05 then to 4 places.
    assert item_price(2, None, D(85), D("9.99"), D(1), D(1), UP, MULTIPLE_OF, D("0.05")) == D("8.5000")


def test_unsupported_or_incomplete_items_are_refused_naming_the_field() -> None:
    for args, field in [((3, None, D(10), D(1)), "pricing_method_code"),
                        ((1, None, None, D(1)), "amount"),
                        ((2, None, None, D(1)), "percentage"),
                        ((2, None, D(10), None), "pricing_method_code")]:
        method, amount, percentage, list_price = args
        with pytest.raises(ValidationFailed) as err:
            item_price(method, amount, percentage, list_price, D(1), D(1))
        assert err.value.extra["errors"][0]["field"] == field


def test_line_amounts() -> None:
    line = line_amounts(D("19.99"), D(3), D("5.00"), D("10.99"))
    # base = 19.99 x 3; extended = base - discount + tax
    assert line == LineAmounts(D("59.9700"), D("5.00"), D("10.99"), D("65.9600"))
    fractional = line_amounts(D("0.3333"), D("0.5"))
    assert fractional.base_amount == D("0.1667")  # 0.16665 half up


def test_a_line_discount_cannot_exceed_its_amount() -> None:
    with pytest.raises(ValidationFailed) as err:
        line_amounts(D("10"), D(1), D("10.01"))
    assert err.value.extra["errors"][0]["field"] == "manual_discount_amount"


def test_document_totals() -> None:
    lines = [line_amounts(D("100"), D(2), D("20"), D("18")), line_amounts(D("49.99"), D(1), D(0), D("5"))]
    totals = document_totals(lines, discount_percentage=D("10"), discount_amount=D("5"), freight_amount=D("7.5"))
    # line items: (200 - 20) + 49.99 = 229.99; discounts: 20
    assert totals.total_line_item_amount == D("229.99")
    assert totals.total_line_item_discount_amount == D("20")
    # header discount: 5 + 10 % of 229.99 (22.999 -> 22.9990)
    assert totals.total_discount_amount == D("27.9990")
    assert totals.total_amount_less_freight == D("201.9910")
    assert totals.total_tax == D("23")
    assert totals.total_amount == D("232.4910")  # 201.991 + 7.5 freight + 23 tax


def test_empty_document_and_a_discount_beyond_the_lines() -> None:
    assert document_totals([]).total_amount == 0
    with pytest.raises(ValidationFailed) as err:
        document_totals([line_amounts(D(10), D(1))], discount_amount=D("10.01"))
    assert err.value.extra["errors"][0]["field"] == "discount_amount"


def test_currency_codes() -> None:
    assert check_currency("EUR") == "EUR"
    for bad in ("eur", "EURO", "E1R", "", None):
        with pytest.raises(ValidationFailed):
            check_currency(bad)


_price = st.decimals(min_value=D(0), max_value=D("99999"), places=4)
_qty = st.decimals(min_value=D("0.0001"), max_value=D("9999"), places=4)


@given(_price, _qty, _price, _price)
def test_totals_add_up_exactly(price: D, quantity: D, discount: D, tax: D) -> None:
    """Whatever the numbers, the total is the lines' extended amounts less the header discount plus
    freight, to the last decimal: no float anywhere."""
    base = money(price * quantity)
    discount = min(discount, base)
    line = line_amounts(price, quantity, discount, tax)
    totals = document_totals([line, line], discount_percentage=D(0), freight_amount=D("1.5"))
    assert totals.total_amount == 2 * line.extended_amount + D("1.5")
    assert totals.total_amount.as_tuple().exponent >= -4


@given(st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2),
       st.sampled_from([UP, DOWN, NEAREST]), st.sampled_from([D("0.05"), D("0.25"), D(1), D(5)]))
def test_multiples_are_multiples_and_move_the_right_way(price: D, policy: int, step: D) -> None:
    rounded = round_price(price, policy, MULTIPLE_OF, step)
    assert rounded % step == 0
    assert abs(rounded - price) < step
    if policy == UP:
        assert rounded >= price
    if policy == DOWN:
        assert rounded <= price


@given(st.decimals(min_value=D("1"), max_value=D("100000"), places=2),
       st.sampled_from([UP, DOWN, NEAREST]), st.sampled_from([D("0.99"), D("0.95"), D(9), D(99)]))
def test_ends_in_ends_in_the_amount(price: D, policy: int, ending: D) -> None:
    rounded = round_price(price, policy, ENDS_IN, ending)
    step = D(1) if ending < 1 else D(10) if ending < 10 else D(100)
    if rounded != 0:
        assert (rounded - ending) % step == 0
    if policy == UP:
        assert price <= rounded < price + step
    if policy == DOWN:
        assert price - step < rounded <= price
