"""Two business units with records in each, and the users the contract tests speak as."""

import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.api import created
from tests.org import OrgBuilder, TestUser

# Records a Salesperson reads at business-unit depth (crm_core.security.default_roles: CUSTOMER_ENTITIES),
# less those everyone reads organisation-wide (queues, published knowledge articles, email templates).
CONFINED = (
    "accounts",
    "contacts",
    "leads",
    "activities",
    "cases",
    "opportunities",
    "marketing-lists",
    "campaigns",
    "quotes",
    "orders",
    "invoices",
)


@dataclass
class Unit:
    """The records one unit's user created, by collection."""

    records: dict[str, list[str]] = field(default_factory=dict)

    def add(self, collection: str, record: dict[str, Any]) -> str:
        self.records.setdefault(collection, []).append(str(record["id"]))
        return str(record["id"])

    def ids(self) -> set[str]:
        return {i for ids in self.records.values() for i in ids}


@dataclass
class World:
    roles: dict[str, TestUser]  # "admin", "sales_a", "csr_b", "nobody"
    a: Unit
    b: Unit

    def foreign_to_a(self) -> set[str]:
        return confined_ids(self.b)

    def hidden(self) -> dict[str, set[str]]:
        """By role, the ids it must never see: A's Salesperson none of B's, B's representative none of A's,
        the user without roles none of either (the administrator sees all)."""
        a, b = confined_ids(self.a), confined_ids(self.b)
        return {"sales_a": b, "csr_b": a, "nobody": a | b}


def confined_ids(unit: Unit) -> set[str]:
    return {i for c in CONFINED for i in unit.records.get(c, [])}


def _fill(client: Any, user: TestUser, unit: Unit, tag: str) -> None:
    def make(collection: str, body: dict[str, Any]) -> str:
        return unit.add(collection, created(client, user, collection, body))

    account = make("accounts", {"name": f"Account {tag}"})
    make("contacts", {"last_name": f"Contact {tag}"})
    make("leads", {"subject": f"Lead {tag}", "last_name": f"Lead {tag}"})
    make(
        "activities",
        {"activity_type": "task", "subject": f"Call {tag}", "regarding_type": "account", "regarding_id": account},
    )
    make("cases", {"title": f"Case {tag}", "customer_type": "account", "customer_id": account})
    make("queues", {"name": f"Queue {tag}"})
    make(
        "opportunities",
        {"name": f"Deal {tag}", "customer_type": "account", "customer_id": account, "currency_code": "EUR"},
    )
    make("marketing-lists", {"name": f"List {tag}", "member_type": "account"})
    make("campaigns", {"name": f"Campaign {tag}"})
    for collection in ("quotes", "orders", "invoices"):
        make(
            collection,
            {"name": f"{collection} {tag}", "customer_type": "account", "customer_id": account, "currency_code": "EUR"},
        )
    make("knowledge-articles", {"title": f"Article {tag}"})
    make("email-templates", {"name": f"Template {tag}", "subject": f"Hello {tag}", "body_text": "Hi"})


def build(client: Any, org: OrgBuilder) -> World:
    unit_a, unit_b = org.unit("Unit A"), org.unit("Unit B")
    admin = org.admin()
    sales_a = org.user("sales.a@contoso.example", ["Salesperson"], unit_a)
    sales_b = org.user("sales.b@contoso.example", ["Salesperson"], unit_b)
    csr_b = org.user("csr.b@contoso.example", ["Customer Service Representative"], unit_b)
    nobody = org.user("nobody@contoso.example", [])
    a, b = Unit(), Unit()
    _fill(client, sales_a, a, "A")
    _fill(client, sales_b, b, "B")
    b.add(
        "cases",
        created(
            client,
            csr_b,
            "cases",
            {"title": "CSR case", "customer_type": "account", "customer_id": b.records["accounts"][0]},
        ),
    )
    return World({"admin": admin, "sales_a": sales_a, "csr_b": csr_b, "nobody": nobody}, a, b)


def path_values(world: World, path: str, param: str, unit: Unit) -> str:
    """A value for a path parameter: a record of `unit` where the collection is known, else an unknown id."""
    collection = path.removeprefix("/api/v1/").split("/")[0]
    if param == "collection":
        return "accounts"
    if param == "entity_name":
        return "account"
    if param == "case_id":
        collection = "cases"
    if param in ("record_id", "case_id") and unit.records.get(collection):
        return unit.records[collection][0]
    return str(uuid.uuid4())
