"""A batch is tracked as a whole (its lookups asked once, its rows written in one flush) and must give what
tracking mail by mail gives: a reply finds the mail it answers in the same batch, a second copy is a
duplicate, a new contact is found by the next mail; a mail the database refuses is quarantined alone while
the rest of its batch is tracked; and parsing in worker processes gives the same results."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from crm_core.models import MailBlob, MailQuarantine, TrackedMessage
from mailbridge.errors import MailError
from mailbridge.message import NormaliseOptions
from mailbridge.tracking import SourceItem, TrackingOptions, import_local
from mailbridge.tracking.parsing import BatchNormaliser
from tests.mailbridge.tracking_fixtures import contact, emails, local_mailbox, mail, maildir, parties
from tests.org import OrgBuilder, TestUser


def _tracked(session_factory: sessionmaker[Session]) -> dict[str, TrackedMessage]:
    with session_factory() as session:
        rows = session.scalars(select(TrackedMessage)).all()
        session.expunge_all()
    return {t.message_id or "": t for t in rows}


def test_a_batch_sees_what_it_wrote_itself(client, admin: TestUser, org: OrgBuilder, session_factory,
                                           tmp_path: Path) -> None:
    box_id, rep = local_mailbox(client, admin, org, session_factory, incoming_filter="all",
                                unknown_senders="create_contact")
    first = mail(sender="Nina North <nina@new.example>", to=rep.email, subject="Pricing",
                 message_id="<p1@new.example>", body="What does it cost?")
    reply = mail(sender=rep.email, to="nina@new.example", subject="Re: Pricing", message_id="<p2@contoso.example>",
                 body="Ten a month.", headers={"In-Reply-To": "<p1@new.example>"})
    later = mail(sender="nina@new.example", to=rep.email, subject="Re: Pricing", message_id="<p3@new.example>",
                 body="Deal.", headers={"References": "<p1@new.example> <p2@contoso.example>"})
    # Folders are read in order: the top one, then Archive, Sent, Work; all of it is one batch.
    path = maildir(tmp_path / "M", {"": [first], "Archive": [first], "Sent": [reply], "Work": [later]})

    summary = import_local(session_factory, box_id, path, TrackingOptions(parse_workers=0))

    assert (summary.fetched, summary.tracked, summary.duplicates) == (4, 3, 1)  # one batch of four
    by_id = {e["message_id"]: e for e in emails(client, rep)}
    assert set(by_id) == {"p1@new.example", "p2@contoso.example", "p3@new.example"}
    tracked = _tracked(session_factory)
    assert (tracked["p2@contoso.example"].signal, tracked["p2@contoso.example"].correlated_email_id) == (
        "in_reply_to", uuid.UUID(by_id["p1@new.example"]["id"]))
    assert (tracked["p3@new.example"].signal, tracked["p3@new.example"].correlated_email_id) == (
        "references", uuid.UUID(by_id["p2@contoso.example"]["id"]))
    # The unknown sender became one contact, which the later mail of the same batch found.
    people = client.get("/api/v1/contacts", params={"limit": 50}, headers=admin.headers).json()["items"]
    [nina] = [c for c in people if c["email_address1"] == "nina@new.example"]
    assert parties(by_id["p3@new.example"], "sender")[0]["party_id"] == nina["id"]
    assert parties(by_id["p2@contoso.example"], "to")[0]["party_id"] == nina["id"]


@pytest.fixture
def refusing_database(engine):
    """The database itself refuses one subject, as it would a value a bug let through: a real refusal at
    flush time, not a patched step."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text(
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON activities WHEN NEW.subject = 'Poison' "
                "BEGIN SELECT RAISE(ABORT, 'poison refused'); END"))
        else:
            connection.execute(text(
                "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN IF NEW.subject = 'Poison' THEN "
                "RAISE EXCEPTION 'poison refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"))
            connection.execute(text("CREATE TRIGGER refuse_poison BEFORE INSERT ON activities FOR EACH ROW "
                                    "EXECUTE FUNCTION refuse_poison()"))
    yield
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER refuse_poison"))
        else:
            connection.execute(text("DROP TRIGGER refuse_poison ON activities"))
            connection.execute(text("DROP FUNCTION refuse_poison()"))


def test_a_mail_the_database_refuses_is_quarantined_alone(client, admin: TestUser, org: OrgBuilder, session_factory,
                                                          tmp_path: Path, refusing_database) -> None:
    box_id, rep = local_mailbox(client, admin, org, session_factory, incoming_filter="all")
    jane = contact(client, rep, "Jane", "Doe", "jane@customer.example")
    raws = [mail(sender="jane@customer.example", to=rep.email, subject=f"Question {i}", message_id=f"<q{i}@c.example>")
            for i in range(5)]
    raws.insert(2, mail(sender="jane@customer.example", to=rep.email, subject="Poison", message_id="<bad@c.example>"))
    raws.append(mail(sender="jane@customer.example", to=rep.email, subject="Re: Question 1",
                     headers={"In-Reply-To": "<q1@c.example>"}))
    path = maildir(tmp_path / "M", {"": raws})

    summary = import_local(session_factory, box_id, path, TrackingOptions(parse_workers=0))

    assert (summary.fetched, summary.tracked, summary.quarantined) == (7, 6, 1)
    [folder] = summary.folders.values()
    assert dict(folder.quarantined_by_reason) == {"tracking_failed": 1}
    subjects = {e["subject"]: e for e in emails(client, rep)}
    assert set(subjects) == {*(f"Question {i}" for i in range(5)), "Re: Question 1"}
    assert all(parties(e, "sender")[0]["party_id"] == jane["id"] for e in subjects.values())
    tracked = {t.correlated_email_id for t in _tracked(session_factory).values()}
    assert uuid.UUID(subjects["Question 1"]["id"]) in tracked  # the reply still found its thread
    with session_factory() as session:
        [row] = session.scalars(select(MailQuarantine)).all()
        assert (row.reason, "poison refused" in row.message) == ("tracking_failed", True)

    again = import_local(session_factory, box_id, path, TrackingOptions(parse_workers=0))
    assert (again.tracked, again.duplicates) == (0, 7)  # nothing twice, the refused one stays in quarantine


def test_parsing_in_worker_processes_gives_the_same_results(client, admin: TestUser, org: OrgBuilder,
                                                             session_factory, tmp_path: Path) -> None:
    box_id, rep = local_mailbox(client, admin, org, session_factory, incoming_filter="all")
    raws = [mail(sender=f"p{i}@customer.example", to=rep.email, subject=f"Mail {i}",
                 headers={"In-Reply-To": f"<m{i - 1}@x.example>"} if i % 3 else None, message_id=f"<m{i}@x.example>")
            for i in range(40)]
    raws[7] = mail(sender="big@customer.example", to=rep.email, subject="Huge", body="x" * 5000)
    path = maildir(tmp_path / "M", {"": raws})
    options = TrackingOptions(parse_workers=1, batch_size=20, normalise=NormaliseOptions(max_message_bytes=4000))

    summary = import_local(session_factory, box_id, path, options)

    assert (summary.fetched, summary.tracked, summary.quarantined) == (40, 39, 1)
    [folder] = summary.folders.values()
    assert dict(folder.quarantined_by_reason) == {"too_large": 1}
    assert len(emails(client, rep)) == 39
    threaded = [t for t in _tracked(session_factory).values() if t.signal == "in_reply_to"]
    # Every reply whose parent was tracked (not the huge one, which replaced m7) found it, across batches too.
    assert len(threaded) == len([i for i in range(40) if i % 3 and i != 7 and i - 1 != 7])
    with session_factory() as session:  # the raw bytes kept are the very ones read, though they stayed behind
        kept = [blob.content for t in session.scalars(select(TrackedMessage))
                if (blob := session.get(MailBlob, t.raw_sha256)) is not None]
    assert sorted(kept) == sorted(raw for i, raw in enumerate(raws) if i != 7)


def test_a_batch_in_hand_is_delivered_before_the_next_ones_failure() -> None:
    """Parsing ahead reads batch k+1 before batch k is written: when reading k+1 fails (the server went away),
    batch k still comes out, to be committed, and then the error stops the pass."""
    good = mail(sender="jane@customer.example", to="rep@contoso.example", subject="Kept")

    def batches() -> Iterator[list[SourceItem]]:
        yield [SourceItem("INBOX", 1, 1, good)]
        raise MailError("connection lost", reason="temporary")

    delivered = []

    def run() -> None:
        with BatchNormaliser(NormaliseOptions(), workers=0) as normaliser:
            for batch, parsed in normaliser.ahead(batches(), lambda b: b):
                delivered.append((batch[0].uid, parsed[0][1].subject))  # type: ignore[union-attr]

    with pytest.raises(MailError, match="connection"):
        run()
    assert delivered == [(1, "Kept")]
