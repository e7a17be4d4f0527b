"""The criteria language of dynamic lists: what it accepts, what it refuses (always a 422 naming the path),
and what it selects: the SQL it compiles to agrees with the meaning the docs give it, on both databases."""

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import ValidationFailed
from crm_core.models import Address, Contact
from crm_core.services import list_criteria as lc
from tests.api import created, problem
from tests.org import OrgBuilder

TODAY = date(2024, 3, 1)  # the day after a 29 February


# --- parsing ---------------------------------------------------------------------------------------------
def test_parse_and_canonical_form() -> None:
    node = lc.parse("contact", {"any": [
        {"not": {"field": "age", "op": "in", "value": [30, 40]}},
        {"field": "do_not_email", "op": "eq", "value": False},
        {"field": "parent_account_id", "op": "eq", "value": "6F9619FF-8B86-D011-B42D-00C04FC964FF"},
    ]})
    assert lc.to_json(node) == {"any": [
        {"not": {"field": "age", "op": "in", "value": [30, 40]}},
        {"field": "do_not_email", "op": "eq", "value": False},
        {"field": "parent_account_id", "op": "eq", "value": "6f9619ff-8b86-d011-b42d-00c04fc964ff"},
    ]}
    account = lc.parse("account", {"field": "revenue", "op": "between", "value": ["10.5", 20]})
    assert lc.to_json(account) == {"field": "revenue", "op": "between", "value": ["10.5", "20"]}


@pytest.mark.parametrize(("doc", "path", "words"), [
    ([], "criteria", "expected an object"),
    ({"field": "age", "op": "gt", "value": 3}, "criteria.op", "age takes eq, ne, in, gte, lte, between, is_null"),
    ({"field": "age", "op": "eq", "value": 201}, "criteria.value", "an age between 0 and 200"),
    ({"field": "age", "op": "eq", "value": True}, "criteria.value", "a whole number"),
    ({"field": "age", "op": "eq"}, "criteria.value", "eq needs a value"),
    ({"field": "age", "op": "in", "value": []}, "criteria.value", "non-empty list"),
    ({"field": "age", "op": "in", "value": list(range(501))}, "criteria.value", "at most 500"),
    ({"field": "age", "op": "is_null", "value": "yes"}, "criteria.value", "is_null takes true"),
    ({"field": "last_name", "op": "eq", "value": "x", "extra": 1}, "criteria", "unknown keys"),
    ({"field": "last_name", "op": "eq", "value": "\ud800"}, "criteria.value", "valid Unicode"),
    ({"field": "created_on", "op": "eq", "value": "0001-01-01T00:00:00+05:00"}, "criteria.value", "offset"),
    ({"field": "created_on", "op": "eq", "value": "9999-12-31T23:00:00-05:00"}, "criteria.value", "offset"),
    ({"field": "owning_user_id", "op": "eq", "value": "not-a-uuid"}, "criteria.value", "an id"),
    ({"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"all": []}}}}}}}}}},
     "criteria.not.not.not.not.not.not.not.not.not", "at most 8 levels"),
    ({"all": [{"field": "age", "op": "eq", "value": 1}] * 101}, "criteria.all[100]", "at most 100 conditions"),
])
def test_parse_refusals_name_the_path(doc: Any, path: str, words: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        lc.parse("contact", doc)
    assert caught.value.extra["errors"][0]["field"] == path
    assert words in caught.value.detail


def test_decimal_values_fit_the_column() -> None:
    for value in ("1e30", "0.00001", "NaN", "Infinity", [1], True):
        with pytest.raises(ValidationFailed):
            lc.parse("account", {"field": "revenue", "op": "gte", "value": value})


# Finite floats only: JSON (and so any client of the API) cannot carry NaN or infinity.
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def _conditions(member_type: str) -> st.SearchStrategy[dict[str, Any]]:
    """Near misses: real fields and ops (and some wrong ones) with values of every shape."""
    fields = st.sampled_from([*lc.FIELDS[member_type], "id", "password", ""])
    ops = st.sampled_from([*lc.OPS, "gt", "like"])
    values = st.one_of(
        JSON, st.integers(min_value=-(2**70), max_value=2**70), st.dates().map(date.isoformat),
        st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()), st.uuids().map(str),
        st.lists(st.integers(min_value=-3, max_value=300), max_size=3),
        st.sampled_from(["Seattle", "a%_/", "1e400", "2024-02-30", "", "x" * 400]),
    )
    return st.fixed_dictionaries({"field": fields, "op": ops}, optional={"value": values})


def _criteria(member_type: str) -> st.SearchStrategy[Any]:
    tree = st.recursive(
        _conditions(member_type),
        lambda inner: st.one_of(
            st.fixed_dictionaries({"all": st.lists(inner, max_size=3)}),
            st.fixed_dictionaries({"any": st.lists(inner, max_size=3)}),
            st.fixed_dictionaries({"not": inner}),
        ),
        max_leaves=6,
    )
    return st.one_of(tree, JSON)


@settings(max_examples=400, deadline=None)
@given(member_type=st.sampled_from(["account", "contact", "lead"]), data=st.data())
def test_parse_either_accepts_or_says_422(member_type: str, data: st.DataObject) -> None:
    doc = data.draw(_criteria(member_type))
    try:
        node = lc.parse(member_type, doc)
    except ValidationFailed as exc:
        refused: ValidationFailed | None = exc
    else:
        refused = None
    if refused is not None:
        assert refused.extra["errors"][0]["field"].startswith("criteria")
        return
    lc.compile_criteria(member_type, node, TODAY)
    assert lc.parse(member_type, lc.to_json(node)) == node  # the stored form reads back the same


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(member_type=st.sampled_from(["account", "contact", "lead"]), data=st.data())
def test_any_criteria_compile_and_run_or_give_422_never_500(client, admin, member_type: str,
                                                            data: st.DataObject) -> None:
    """Through the API, on the database under test: a dynamic list with generated criteria is either refused
    with a 422 problem, or created, and then its members and count both answer 200."""
    criteria = data.draw(_criteria(member_type))
    r = client.post("/api/v1/marketing-lists", json={"name": "Generated", "member_type": member_type,
                                                     "is_dynamic": True, "criteria": criteria},
                    headers=admin.headers)
    if r.status_code != 201:
        problem(r, 422)
        return
    list_id = r.json()["id"]
    members = client.get(f"/api/v1/marketing-lists/{list_id}/members", headers=admin.headers)
    assert members.status_code == 200, members.text
    count = client.get(f"/api/v1/marketing-lists/{list_id}/preview-count", headers=admin.headers)
    assert count.status_code == 200, count.text
    assert count.json()["count"] == len(members.json()["items"]) or members.json()["next_cursor"]


# --- meaning -----------------------------------------------------------------------------------------------
def test_years_before_and_age_on_agree_around_29_february() -> None:
    leapling = date(2000, 2, 29)
    assert lc.years_before(date(2024, 2, 29), 1) == date(2023, 2, 28)
    assert lc.age_on(leapling, date(2025, 2, 28)) == 24
    assert lc.age_on(leapling, date(2025, 3, 1)) == 25
    assert lc.years_before(date(2024, 1, 1), 3000) == date.min


PEOPLE: list[dict[str, Any]] = [
    {"first_name": "Ann", "last_name": "Lee", "birth_date": date(1999, 3, 1), "cities": ["Seattle"]},
    {"first_name": "ann", "last_name": "Lee", "birth_date": date(1999, 3, 2), "cities": ["seattle", "Tacoma"]},
    {"first_name": None, "last_name": "Poe", "birth_date": date(1989, 3, 1), "cities": []},
    {"first_name": "Bob", "last_name": "A%b_c", "birth_date": date(1989, 3, 2), "cities": [None]},
    {"first_name": "Cy", "last_name": "Roe", "birth_date": date(2000, 2, 29), "cities": ["Paris", None],
     "do_not_email": True},
    {"first_name": "Di", "last_name": "Loe", "birth_date": None, "cities": ["Seattle"], "preferred": 2},
    {"first_name": "Ed", "last_name": "Moe", "birth_date": date(2024, 3, 1), "cities": ["Tacoma"], "preferred": 3},
    {"first_name": "Flo", "last_name": "Noe", "birth_date": date(1950, 1, 1), "cities": [], "email": "f@x.org"},
]
VALUES = {
    "string": st.sampled_from(["ann", "ANN", "Lee", "seattle", "Tacoma", "", "%", "a%b", "_", "oe", "Paris"]),
    "date": st.dates(min_value=date(1948, 1, 1), max_value=date(2025, 1, 1)) | st.sampled_from(
        [date(1999, 3, 1), date(2000, 2, 29), date(1989, 3, 2)]),
    "age": st.integers(min_value=0, max_value=80) | st.sampled_from([24, 25, 34, 35, 0]),
    "boolean": st.booleans(),
    "integer": st.integers(min_value=0, max_value=4),
}
FIELDS = {"first_name": "string", "last_name": "string", "email_address1": "string", "addresses.city": "string",
          "birth_date": "date", "age": "age", "do_not_email": "boolean",
          "preferred_contact_method_code": "integer"}


@st.composite
def _valid_condition(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(sorted(FIELDS)))
    kind = FIELDS[name]
    op = draw(st.sampled_from(sorted(lc.OPS_OF_KIND["string" if kind == "string" else kind])))
    one = VALUES[kind]
    if op == "is_null":
        return {"field": name, "op": op, "value": draw(st.booleans())}
    if op == "in":
        value: Any = draw(st.lists(one, min_size=1, max_size=3))
    elif op == "between":
        value = sorted(draw(st.lists(one, min_size=2, max_size=2)))
    else:
        value = draw(one)
    dump = (lambda v: v.isoformat()) if kind == "date" else (lambda v: v)
    return {"field": name, "op": op, "value": [dump(v) for v in value] if isinstance(value, list) else dump(value)}


VALID = st.recursive(
    _valid_condition(),
    lambda inner: st.one_of(st.fixed_dictionaries({"all": st.lists(inner, max_size=3)}),
                            st.fixed_dictionaries({"any": st.lists(inner, max_size=3)}),
                            st.fixed_dictionaries({"not": inner})),
    max_leaves=5,
)


def _holds(doc: dict[str, Any], person: dict[str, Any]) -> bool:
    """The meaning docs/marketing.md gives the criteria, evaluated in Python."""
    if "all" in doc:
        return all(_holds(d, person) for d in doc["all"])
    if "any" in doc:
        return any(_holds(d, person) for d in doc["any"])
    if "not" in doc:
        return not _holds(doc["not"], person)
    name, op, value = doc["field"], doc["op"], doc["value"]
    kind = FIELDS[name]
    if kind == "date":
        value = [date.fromisoformat(v) for v in value] if isinstance(value, list) else (
            date.fromisoformat(value) if isinstance(value, str) else value)

    def eq(v: Any, target: Any) -> bool:
        return v.lower() == target.lower() if kind == "string" else v == target

    def positive(v: Any) -> bool:
        if op == "contains":
            return value.lower() in v.lower()
        if op == "in":
            return any(eq(v, t) for t in value)
        if op == "gte":
            return v >= value
        if op == "lte":
            return v <= value
        if op == "between":
            return value[0] <= v <= value[1]
        return eq(v, value)

    if name == "addresses.city":
        cities = person["cities"]
        if op == "is_null":
            return all(c is None for c in cities) == value
        if op == "ne":
            return not any(c is not None and eq(c, value) for c in cities)
        return any(c is not None and positive(c) for c in cities)
    if name == "age":
        v = None if person["birth_date"] is None else lc.age_on(person["birth_date"], TODAY)
    else:
        v = {"first_name": person["first_name"], "last_name": person["last_name"],
             "email_address1": person.get("email"), "birth_date": person["birth_date"],
             "do_not_email": person.get("do_not_email", False),
             "preferred_contact_method_code": person.get("preferred", 1)}[name]
    if op == "is_null":
        return (v is None) == value
    if op == "ne":
        return v is None or not eq(v, value)
    return v is not None and positive(v)


@pytest.fixture
def people(session_factory, org: OrgBuilder) -> dict[uuid.UUID, dict[str, Any]]:
    admin = org.admin()
    out = {}
    with UnitOfWork(session_factory) as uow:
        for p in PEOPLE:
            record = Contact(id=uuid.uuid4(), owning_user_id=admin.id, owning_business_unit_id=org.root_id,
                             first_name=p["first_name"], last_name=p["last_name"], full_name=p["last_name"],
                             birth_date=p["birth_date"], do_not_email=p.get("do_not_email", False),
                             preferred_contact_method_code=p.get("preferred", 1), email_address1=p.get("email"))
            record.addresses = [Address(id=uuid.uuid4(), address_number=i + 1, city=c, contact_id=record.id)
                                for i, c in enumerate(p["cities"])]
            uow.session.add(record)
            out[record.id] = p
        uow.commit()
    return out


def _selected(session_factory, doc: dict[str, Any]) -> set[uuid.UUID]:
    condition = lc.compile_criteria("contact", lc.parse("contact", doc), TODAY)
    with UnitOfWork(session_factory) as uow:
        return set(uow.session.scalars(select(Contact.id).where(condition)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=VALID)
def test_the_sql_selects_exactly_what_the_criteria_mean(session_factory, people, doc: dict[str, Any]) -> None:
    try:
        lc.parse("contact", doc)
    except ValidationFailed:
        assume(False)  # e.g. a string value longer than its column
    expected = {record_id for record_id, person in people.items() if _holds(doc, person)}
    assert _selected(session_factory, doc) == expected


def test_age_boundaries(session_factory, people) -> None:
    who = {(p["first_name"] or p["last_name"]): record_id for record_id, p in people.items()}

    def ages(doc: dict[str, Any]) -> set[str]:
        selected = _selected(session_factory, doc)
        return {name for name, record_id in who.items() if record_id in selected}

    # On 2024-03-01 Ann (born 1999-03-01) has just turned 25; ann (1999-03-02) is still 24.
    assert ages({"field": "age", "op": "eq", "value": 25}) == {"Ann"}
    assert ages({"field": "age", "op": "eq", "value": 24}) == {"ann", "Cy"}  # Cy, born 29 Feb 2000, since today
    assert ages({"field": "age", "op": "between", "value": [25, 35]}) == {"Ann", "Poe", "Bob"}
    assert ages({"field": "age", "op": "eq", "value": 0}) == {"Ed"}
    # Someone without a birth date has no age: no range holds for him, and "ne" and "not" do.
    assert "Di" not in ages({"field": "age", "op": "gte", "value": 0})
    assert "Di" in ages({"field": "age", "op": "ne", "value": 30})
    assert "Di" in ages({"not": {"field": "age", "op": "lte", "value": 200}})
    assert ages({"field": "age", "op": "is_null"}) == {"Di"}


def test_dynamic_list_end_to_end_keeps_its_criteria(client, admin) -> None:
    lst = created(client, admin, "marketing-lists", {
        "name": "Leapers", "member_type": "contact", "is_dynamic": True,
        "criteria": {"field": "birth_date", "op": "between", "value": ["2000-02-29", "2000-03-01"]}})
    leaper = created(client, admin, "contacts", {"last_name": "Leap", "birth_date": "2000-02-29"})
    created(client, admin, "contacts", {"last_name": "Later", "birth_date": (date(2000, 3, 1) + timedelta(days=1))
                                        .isoformat()})
    r = client.get(f"/api/v1/marketing-lists/{lst['id']}/members", headers=admin.headers)
    assert [m["id"] for m in r.json()["items"]] == [leaper["id"]]
