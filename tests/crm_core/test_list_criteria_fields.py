"""Dynamic marketing lists filter on every field of their member type but the id: the fields added for
segmentation (issue 11) select what they say."""

from typing import Any

from crm_core.services.list_criteria import FIELDS, MODELS
from tests.api import created
from tests.crm_core.analytics_data import Seed
from tests.org import TestUser


def test_every_column_but_the_id_is_a_field() -> None:
    for member_type, model in MODELS.items():
        columns = {c.name for c in model.__table__.columns} - {"id"}
        assert columns <= set(FIELDS[member_type]), member_type


def count(client: Any, user: TestUser, member_type: str, criteria: dict[str, Any]) -> int:
    lst = created(
        client,
        user,
        "marketing-lists",
        {"name": "Dynamic", "member_type": member_type, "is_dynamic": True, "criteria": criteria},
    )
    r = client.get(f"/api/v1/marketing-lists/{lst['id']}/preview-count", headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()["count"]  # type: ignore[no-any-return]


def test_new_fields_select_their_records(client: Any, admin: TestUser, session_factory: Any) -> None:
    seed = Seed(session_factory, admin)
    spring = seed.campaign("Spring", None)
    seed.lead_won(spring, ("account", seed.account("Contoso")), "100")
    created(
        client,
        admin,
        "contacts",
        {
            "first_name": "Ann",
            "last_name": "Lee",
            "email_address3": "ann@third.example",
            "description": "Met at the Spring fair",
        },
    )
    created(client, admin, "contacts", {"first_name": "Bo", "last_name": "Lee"})
    assert count(client, admin, "lead", {"field": "campaign_id", "op": "eq", "value": str(spring)}) == 1
    assert count(client, admin, "lead", {"field": "qualifying_opportunity_id", "op": "is_null", "value": True}) == 0
    assert count(client, admin, "contact", {"field": "description", "op": "contains", "value": "spring"}) == 1
    assert count(client, admin, "contact", {"field": "email_address3", "op": "is_null", "value": False}) == 1
    assert count(client, admin, "contact", {"field": "created_by_id", "op": "eq", "value": str(admin.id)}) == 2
