"""The audit trail: every write leaves who, when, what, old and new values."""

from tests.org import OrgBuilder


def test_create_update_and_state_change_are_audited(client, org: OrgBuilder) -> None:
    admin = org.admin()
    acc = client.post("/api/v1/accounts", json={"name": "Contoso", "telephone1": "111"},
                      headers=admin.headers).json()
    url = f"/api/v1/accounts/{acc['id']}"
    client.patch(url, json={"telephone1": "222", "addresses": [{"city": "Oslo"}]}, headers=admin.headers)
    client.post(f"{url}/deactivate", headers=admin.headers)
    trail = client.get(f"{url}/audit", headers=admin.headers).json()
    by_action = {e["action"]: e for e in trail}
    assert {"create", "update", "deactivate"} <= set(by_action)
    assert by_action["create"]["changes"]["name"] == [None, "Contoso"]
    assert all(e["user_id"] == str(admin.id) for e in trail)
    updates = [e for e in trail if e["action"] == "update"]
    changed = {k: v for e in updates for k, v in e["changes"].items()}
    assert changed["telephone1"] == ["111", "222"]
    assert changed["address1.city"] == [None, "Oslo"]
    assert by_action["deactivate"]["changes"]["statecode"] == [0, 1]


def test_delete_keeps_the_trail_with_old_values(client, org: OrgBuilder, session_factory) -> None:
    import uuid

    from sqlalchemy import select

    from crm_core.models import AuditEntry

    admin = org.admin()
    c = client.post("/api/v1/contacts", json={"last_name": "Gone", "email_address1": "gone@example.com"},
                    headers=admin.headers).json()
    assert client.delete(f"/api/v1/contacts/{c['id']}", headers=admin.headers).status_code == 204
    with session_factory() as s:
        query = select(AuditEntry).where(AuditEntry.record_id == uuid.UUID(c["id"])).order_by(AuditEntry.at)
        rows = s.scalars(query).all()
    assert [r.operation for r in rows] == ["create", "delete"]
    assert rows[1].changes["email_address1"] == ["gone@example.com", None]
    assert str(rows[1].user_id) == str(admin.id)


def test_reading_the_audit_needs_the_audit_privilege(client, org: OrgBuilder) -> None:
    rep = org.user("rep@example.com", ["Salesperson"])
    acc = client.post("/api/v1/accounts", json={"name": "Mine"}, headers=rep.headers).json()
    r = client.get(f"/api/v1/accounts/{acc['id']}/audit", headers=rep.headers)
    assert r.status_code == 403
