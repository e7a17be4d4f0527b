"""The quarantine and the link review of tracked mail, through the API: an admin reads, downloads and
discards quarantined mail (a salesperson may not); an ambiguous match waits for review with its candidates;
a person re-links it (audited) or confirms it, and only where his roles let him.

Tracked mail comes from a Maildir written by the test and imported by mailbridge's import_local."""

import hashlib
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from crm_core.models import MailBlob
from crm_core.services.quarantine import REASON_MEANINGS
from mailbridge.tracking import import_local
from mailbridge.tracking.quarantine import REASONS
from tests.api import created, problem
from tests.mailbridge.tracking_fixtures import contact, emails, local_mailbox, mail, maildir
from tests.org import OrgBuilder, TestUser


# --- helpers (test_mail_privacy.py uses them too) --------------------------------------------------
def raw_maildir(path: Path, files: dict[str, bytes]) -> Path:
    """A Maildir holding these exact bytes (mailbox.add would repair them)."""
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    for name, raw in files.items():
        (path / "new" / name).write_bytes(raw)
    return path


def the_email(client: Any, user: TestUser, subject: str) -> dict[str, Any]:
    [found] = [e for e in emails(client, user) if e["subject"] == subject]
    return found


def audit(client: Any, admin: TestUser, path: str) -> list[dict[str, Any]]:
    r = client.get(f"/api/v1/{path}/audit", headers=admin.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


# --- quarantine --------------------------------------------------------------------------------------
def _quarantine(client: Any, admin: TestUser, org: OrgBuilder, session_factory: Any,
                tmp_path: Path) -> tuple[uuid.UUID, bytes]:
    box_id, _ = local_mailbox(client, admin, org, session_factory, incoming_filter="all")
    garbage = b"\x00\x01 not a mail message at all, no header to read\r\n"
    path = raw_maildir(tmp_path / "Q", {"1.empty": b"", "2.garbage": garbage})
    assert import_local(session_factory, box_id, path).quarantined == 2
    return box_id, garbage


def test_admins_list_read_download_and_discard_quarantined_mail(client, admin: TestUser, org: OrgBuilder,
                                                                session_factory, tmp_path: Path) -> None:
    box_id, garbage = _quarantine(client, admin, org, session_factory, tmp_path)

    r = client.get("/api/v1/quarantine", params={"mailbox_id": str(box_id)}, headers=admin.headers)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 2
    assert items[0]["quarantined_on"] >= items[1]["quarantined_on"]  # newest first
    by_reason = {i["reason"]: i for i in items}
    assert "empty" in by_reason
    [other] = [i for i in items if i["reason"] != "empty"]
    assert other["reason_meaning"] == REASON_MEANINGS[other["reason"]]
    assert other["raw_size"] == len(garbage)
    assert other["folder"].startswith("maildir:")

    first = client.get("/api/v1/quarantine", params={"limit": 1}, headers=admin.headers).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = client.get("/api/v1/quarantine", params={"limit": 1, "cursor": first["next_cursor"]},
                        headers=admin.headers).json()
    assert {first["items"][0]["id"], second["items"][0]["id"]} == {i["id"] for i in items}
    only_empty = client.get("/api/v1/quarantine", params={"reason": "empty"}, headers=admin.headers).json()
    assert [i["reason"] for i in only_empty["items"]] == ["empty"]
    later = client.get("/api/v1/quarantine", params={"quarantined_on__gte": "2999-01-01T00:00:00Z"},
                       headers=admin.headers).json()
    assert later["items"] == []

    one = client.get(f"/api/v1/quarantine/{other['id']}", headers=admin.headers)
    assert one.status_code == 200 and one.json()["message"]
    raw = client.get(f"/api/v1/quarantine/{other['id']}/raw", headers=admin.headers)
    assert raw.status_code == 200
    assert raw.content == garbage
    assert raw.headers["content-type"] == "message/rfc822"
    assert raw.headers["content-disposition"] == f'attachment; filename="quarantine-{other["id"]}.eml"'

    r = client.delete(f"/api/v1/quarantine/{other['id']}", headers=admin.headers)
    assert r.status_code == 204
    problem(client.get(f"/api/v1/quarantine/{other['id']}", headers=admin.headers), 404)
    left = client.get("/api/v1/quarantine", headers=admin.headers).json()["items"]
    assert [i["id"] for i in left] == [by_reason["empty"]["id"]]
    with session_factory() as session:  # its bytes went with it
        assert session.get(MailBlob, hashlib.sha256(garbage).hexdigest()) is None
        from crm_core.models import AuditEntry

        trail = session.scalars(select(AuditEntry).where(AuditEntry.record_id == uuid.UUID(other["id"]))).all()
        assert {(e.action, e.user_id) for e in trail} >= {("discard", admin.id)}


def test_a_salesperson_may_not_see_the_quarantine(client, admin: TestUser, org: OrgBuilder, session_factory,
                                                  tmp_path: Path) -> None:
    _quarantine(client, admin, org, session_factory, tmp_path)
    rep = org.user("someone@contoso.example", ["Salesperson"])
    row = client.get("/api/v1/quarantine", headers=admin.headers).json()["items"][0]
    problem(client.get("/api/v1/quarantine", headers=rep.headers), 403)
    problem(client.get(f"/api/v1/quarantine/{row['id']}", headers=rep.headers), 403)
    problem(client.get(f"/api/v1/quarantine/{row['id']}/raw", headers=rep.headers), 403)
    problem(client.delete(f"/api/v1/quarantine/{row['id']}", headers=rep.headers), 403)
    assert len(client.get("/api/v1/quarantine", headers=admin.headers).json()["items"]) == 2


def test_every_quarantine_reason_has_its_meaning_in_crm_core() -> None:
    assert REASON_MEANINGS == REASONS  # crm_core spells out mailbridge's codes: they must not drift apart


# --- link review -------------------------------------------------------------------------------------
def _ambiguous(client: Any, admin: TestUser, org: OrgBuilder, session_factory: Any,
               tmp_path: Path) -> tuple[TestUser, list[dict[str, Any]], dict[str, Any]]:
    """Two contacts share info@family.example; their mail waits for review instead of a guess."""
    box_id, rep = local_mailbox(client, admin, org, session_factory)
    family = [contact(client, rep, first, "Family", "info@family.example") for first in ("Ann", "Bob")]
    path = maildir(tmp_path / "M", {"": [mail(sender="info@family.example", to=rep.email, subject="Our order")]})
    assert import_local(session_factory, box_id, path).tracked == 1
    return rep, family, the_email(client, rep, "Our order")


def test_the_review_queue_shows_an_ambiguous_match_with_its_candidates(client, admin: TestUser, org: OrgBuilder,
                                                                        session_factory, tmp_path: Path) -> None:
    rep, family, email = _ambiguous(client, admin, org, session_factory, tmp_path)

    r = client.get("/api/v1/email-links", params={"status": "needs_review"}, headers=rep.headers)
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert (item["email_id"], item["subject"], item["sender_address"]) == (email["id"], "Our order",
                                                                           "info@family.example")
    assert item["regarding_id"] is None and item["sent_on"]
    assert (item["signal"], item["link_status"]) == ("address", "needs_review")
    assert item["confidence"] < 0.8
    assert {(c["type"], c["id"], c["name"]) for c in item["candidates"]} == {
        ("contact", f["id"], f["full_name"]) for f in family}
    assert all("info@family.example" in c["why"] for c in item["candidates"])
    assert client.get(f"/api/v1/activities/{email['id']}/link", headers=rep.headers).json() == item

    stranger = org.user("far@contoso.example", ["Salesperson"], org.unit("Elsewhere"))
    assert client.get("/api/v1/email-links", params={"status": "needs_review"},
                      headers=stranger.headers).json()["items"] == []
    problem(client.get(f"/api/v1/activities/{email['id']}/link", headers=stranger.headers), 404)
    assert client.get("/api/v1/email-links", params={"status": "linked"}, headers=rep.headers).json()["items"] == []
    problem(client.get("/api/v1/email-links", params={"status": "maybe"}, headers=rep.headers), 422)


def test_relink_moves_the_regarding_record_keeps_the_old_link_and_is_audited(
        client, admin: TestUser, org: OrgBuilder, session_factory, tmp_path: Path) -> None:
    rep, family, email = _ambiguous(client, admin, org, session_factory, tmp_path)
    url = f"/api/v1/activities/{email['id']}/relink"

    r = client.post(url, json={"regarding_type": "contact", "regarding_id": family[0]["id"]}, headers=rep.headers)
    assert r.status_code == 200, r.text
    link = r.json()
    assert (link["regarding_type"], link["regarding_id"], link["regarding_name"]) == (
        "contact", family[0]["id"], family[0]["full_name"])
    assert (link["signal"], link["confidence"], link["link_status"]) == ("manual", 1.0, "reviewed")
    assert link["reviewed_by_id"] == str(rep.id)
    assert client.get(f"/api/v1/activities/{email['id']}", headers=rep.headers).json()["regarding_id"] == \
        family[0]["id"]
    assert client.get("/api/v1/email-links", params={"status": "needs_review"},
                      headers=rep.headers).json()["items"] == []

    case = created(client, rep, "cases", {"title": "Order", "customer_type": "contact",
                                          "customer_id": family[1]["id"]})
    moved = client.post(url, json={"regarding_type": "case", "regarding_id": case["id"]}, headers=rep.headers).json()
    assert (moved["regarding_type"], moved["regarding_id"]) == ("case", case["id"])
    [previous] = [c for c in moved["candidates"] if c["previous"]]
    assert (previous["type"], previous["id"], previous["signal"]) == ("contact", family[0]["id"], "manual")
    case_timeline = client.get(f"/api/v1/cases/{case['id']}/timeline", headers=rep.headers)
    assert email["id"] in [i["id"] for i in case_timeline.json()["items"]]

    trail = audit(client, admin, f"activities/{email['id']}")
    relinks = [e for e in trail if e["action"] == "relink"]
    assert len(relinks) == 2
    assert relinks[0]["changes"]["regarding_id"] == [family[0]["id"], case["id"]]
    assert relinks[0]["user_id"] == str(rep.id)

    cleared = client.post(url, json={"regarding_type": None, "regarding_id": None}, headers=rep.headers).json()
    assert cleared["regarding_id"] is None and cleared["link_status"] == "reviewed"
    problem(client.post(url, json={"regarding_type": "case", "regarding_id": None}, headers=rep.headers), 422,
            "regarding_id")
    problem(client.post(url, json={"regarding_type": "planet", "regarding_id": case["id"]}, headers=rep.headers),
            422, "regarding_type")


def test_confirm_accepts_the_link_as_it_is(client, admin: TestUser, org: OrgBuilder, session_factory,
                                           tmp_path: Path) -> None:
    rep, _, email = _ambiguous(client, admin, org, session_factory, tmp_path)
    tracked_id = client.get(f"/api/v1/activities/{email['id']}/link", headers=rep.headers).json()["tracked_id"]

    r = client.post(f"/api/v1/email-links/{tracked_id}/confirm", headers=rep.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["link_status"], r.json()["regarding_id"], r.json()["signal"]) == ("reviewed", None, "address")
    assert len(r.json()["candidates"]) == 2
    reviewed = client.get("/api/v1/email-links", params={"status": "reviewed"}, headers=rep.headers).json()
    assert [i["email_id"] for i in reviewed["items"]] == [email["id"]]
    assert audit(client, admin, f"activities/{email['id']}")[0]["action"] == "confirm_link"
    problem(client.post(f"/api/v1/email-links/{uuid.uuid4()}/confirm", headers=rep.headers), 404)


def test_only_who_may_write_the_email_and_link_to_the_target_relinks_it(
        client, admin: TestUser, org: OrgBuilder, session_factory, tmp_path: Path) -> None:
    rep, family, email = _ambiguous(client, admin, org, session_factory, tmp_path)
    body = {"regarding_type": "contact", "regarding_id": family[0]["id"]}
    colleague = org.user("colleague@contoso.example", ["Salesperson"])  # same unit: reads it, may not write it
    assert client.get(f"/api/v1/activities/{email['id']}/link", headers=colleague.headers).status_code == 200
    problem(client.post(f"/api/v1/activities/{email['id']}/relink", json=body, headers=colleague.headers), 403)
    tracked_id = client.get(f"/api/v1/activities/{email['id']}/link", headers=rep.headers).json()["tracked_id"]
    problem(client.post(f"/api/v1/email-links/{tracked_id}/confirm", headers=colleague.headers), 403)
    stranger = org.user("far@contoso.example", ["Salesperson"], org.unit("Elsewhere"))
    problem(client.post(f"/api/v1/activities/{email['id']}/relink", json=body, headers=stranger.headers), 404)
    elsewhere = contact(client, stranger, "Far", "Away", "far.away@customer.example")  # the rep cannot read it
    problem(client.post(f"/api/v1/activities/{email['id']}/relink",
                        json={"regarding_type": "contact", "regarding_id": elsewhere["id"]}, headers=rep.headers),
            422, "regarding_id")
    link = client.get(f"/api/v1/activities/{email['id']}/link", headers=rep.headers).json()
    assert (link["regarding_id"], link["link_status"]) == (None, "needs_review")  # nothing moved

    manager = org.user("boss@contoso.example", ["Sales Manager"])  # writes his unit's records
    r = client.post(f"/api/v1/activities/{email['id']}/relink", json=body, headers=manager.headers)
    assert r.status_code == 200, r.text


def test_an_email_written_in_the_crm_explains_its_link_as_manual(client, admin: TestUser, org: OrgBuilder) -> None:
    rep = org.user("writer@contoso.example", ["Salesperson"])
    jane = contact(client, rep, "Jane", "Doe", "jane@customer.example")
    email = created(client, rep, "activities", {"activity_type": "email", "subject": "Offer",
                                                "regarding_type": "contact", "regarding_id": jane["id"]})
    link = client.get(f"/api/v1/activities/{email['id']}/link", headers=rep.headers).json()
    assert (link["tracked_id"], link["signal"], link["link_status"], link["regarding_name"]) == (
        None, "manual", "linked", "Jane Doe")
    task = created(client, rep, "activities", {"activity_type": "task", "subject": "Call back"})
    problem(client.get(f"/api/v1/activities/{task['id']}/link", headers=rep.headers), 404)


def test_retry_tracks_a_quarantined_message_with_todays_settings(client, admin: TestUser, org: OrgBuilder,
                                                                 session_factory, tmp_path: Path) -> None:
    from mailbridge.message import NormaliseOptions
    from mailbridge.tracking import TrackingOptions

    box_id, rep = local_mailbox(client, admin, org, session_factory, incoming_filter="all")
    big = mail(sender="jane@customer.example", to=rep.email, subject="Big", body="x" * 5000)
    small = TrackingOptions(normalise=NormaliseOptions(max_message_bytes=2000))
    assert import_local(session_factory, box_id, maildir(tmp_path / "Q", {"": [big]}), small).quarantined == 1
    [row] = client.get("/api/v1/quarantine", headers=admin.headers).json()["items"]
    assert row["reason"] == "too_large"
    problem(client.post(f"/api/v1/quarantine/{row['id']}/retry", headers=rep.headers), 403)

    r = client.post(f"/api/v1/quarantine/{row['id']}/retry", headers=admin.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["outcome"], r.json()["still_quarantined"]) == ("tracked", False)
    assert the_email(client, rep, "Big")["id"] == r.json()["email_id"]
    assert client.get("/api/v1/quarantine", headers=admin.headers).json()["items"] == []
    problem(client.post(f"/api/v1/quarantine/{row['id']}/retry", headers=admin.headers), 404)

    assert import_local(session_factory, box_id, raw_maildir(tmp_path / "E", {"1.empty": b""})).quarantined == 1
    [empty] = client.get("/api/v1/quarantine", headers=admin.headers).json()["items"]
    again = client.post(f"/api/v1/quarantine/{empty['id']}/retry", headers=admin.headers).json()
    assert (again["outcome"], again["reason"], again["still_quarantined"]) == ("quarantined", "empty", True)
    assert client.get(f"/api/v1/quarantine/{empty['id']}", headers=admin.headers).status_code == 200
