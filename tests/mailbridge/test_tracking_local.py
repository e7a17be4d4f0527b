"""Importing local mail (Maildir, mbox) through the tracking pipeline: a rerun adds nothing, dedupe tells a
reused Message-ID from a rewritten one, and the corpus of real-world oddities (CPython's email test data,
which we did not write, and our hostile messages) comes out tracked or quarantined with its reason, every
message accounted for, nothing crashing."""

import hashlib
import mailbox as stdlib_mailbox
import uuid
from pathlib import Path

from sqlalchemy import select

from crm_core.models import MailQuarantine, MailSighting, TrackedMessage
from mailbridge.message import QUARANTINE_REASONS
from mailbridge.tracking import TrackingOptions, import_local
from tests.api import created
from tests.mailbridge.tracking_fixtures import contact, emails, local_mailbox, mail, maildir, parties
from tests.org import OrgBuilder, TestUser

CORPUS = Path(__file__).parent / "corpus"
CORPUS_FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix in {".txt", ".eml"})


def test_a_maildir_imports_once(client, admin: TestUser, org: OrgBuilder, session_factory, tmp_path: Path) -> None:
    box_id, rep = local_mailbox(client, admin, org, session_factory)  # known records only
    jane = contact(client, rep, "Jane", "Doe", "jane@customer.example")
    path = maildir(tmp_path / "Maildir", {
        "": [mail(sender="jane@customer.example", to=rep.email, subject="Old question"),
             mail(sender="spam@elsewhere.example", to=rep.email, subject="Win!")],
        "Sent": [mail(sender=rep.email, to="Jane <jane@customer.example>", subject="Old answer")],
    })
    seen: list[tuple[int, int | None]] = []

    first = import_local(session_factory, box_id, path, progress=lambda e: seen.append((e.done, e.total)))

    assert (first.fetched, first.tracked, first.skipped) == (3, 2, 1)
    assert seen == [(1, 3), (2, 3), (3, 3)]
    subjects = {e["subject"]: e for e in emails(client, rep)}
    assert set(subjects) == {"Old question", "Old answer"}
    assert subjects["Old answer"]["direction_outgoing"] is True
    assert parties(subjects["Old answer"], "to")[0]["party_id"] == jane["id"]

    again = import_local(session_factory, box_id, path)
    assert (again.fetched, again.tracked, again.duplicates) == (3, 0, 2)  # the skipped one is looked at again
    assert len(emails(client, rep)) == 2


def test_a_maildir_is_read_in_delivery_order_so_a_reply_finds_its_thread(client, admin: TestUser, org: OrgBuilder,
                                                                          session_factory, tmp_path: Path) -> None:
    """Delivery agents name files `seconds.M<microseconds>P<pid>Q<n>.host`, microseconds not zero-padded: as
    strings, the reply delivered at .010139 s sorts before the question delivered at .009 s of the same second."""
    box_id, rep = local_mailbox(client, admin, org, session_factory, incoming_filter="all")
    path = maildir(tmp_path / "M", {})
    question = mail(sender="jane@customer.example", to=rep.email, subject="Question", message_id="<q@c.example>")
    reply = mail(sender="jane@customer.example", to=rep.email, subject="Re: Question",
                 headers={"In-Reply-To": "<q@c.example>"})
    for name, raw in (("1795520342.M9000P16620Q1.mx", question), ("1795520342.M10139P16620Q2.mx", reply)):
        (path / "new" / name).write_bytes(raw)

    import_local(session_factory, box_id, path, TrackingOptions(parse_workers=0))

    subjects = {e["subject"]: e for e in emails(client, rep)}
    with session_factory() as session:
        tracked = {t.correlated_email_id for t in session.scalars(select(TrackedMessage))}
    assert uuid.UUID(subjects["Question"]["id"]) in tracked  # the reply was correlated with the question


def test_dedupe_tells_a_reused_message_id_from_a_rewritten_one(client, admin: TestUser, org: OrgBuilder,
                                                              session_factory, tmp_path: Path) -> None:
    box_id, rep = local_mailbox(client, admin, org, session_factory, incoming_filter="all")
    date = "Mon, 23 Nov 2026 10:00:00 +0000"
    original = mail(sender="jane@customer.example", to=rep.email, subject="Hi", body="First mail.",
                    message_id="<same@customer.example>", date=date)
    rewritten = mail(sender="jane@customer.example", to=rep.email, subject="Hi", body="First mail.",
                     message_id="<relay-1234@relay.example>", date=date)
    reused = mail(sender="jane@customer.example", to=rep.email, subject="Another", body="Second mail.",
                  message_id="<same@customer.example>", date=date)
    summary = import_local(session_factory, box_id, maildir(tmp_path / "M", {"": [original, rewritten, reused]}))

    assert (summary.tracked, summary.duplicates) == (2, 1)
    assert sorted(e["subject"] for e in emails(client, rep)) == ["Another", "Hi"]


def test_an_mbox_imports_with_the_same_steps(client, admin: TestUser, org: OrgBuilder, session_factory,
                                            tmp_path: Path) -> None:
    box_id, rep = local_mailbox(client, admin, org, session_factory, incoming_filter="all", keep_content="metadata")
    box = stdlib_mailbox.mbox(tmp_path / "archive.mbox")
    for i in range(3):
        box.add(mail(sender=f"c{i}@customer.example", to=rep.email, subject=f"secret {i}"))
    box.flush()
    box.close()
    assert import_local(session_factory, box_id, tmp_path / "archive.mbox").tracked == 3
    assert import_local(session_factory, box_id, tmp_path / "archive.mbox").tracked == 0
    tracked = emails(client, rep)
    assert len(tracked) == 3
    assert {(e["subject"], e["body_text"]) for e in tracked} == {("", None)}  # metadata only, as the mailbox says


def test_the_corpus_goes_through_the_whole_pipeline(client, admin: TestUser, org: OrgBuilder, session_factory,
                                                   tmp_path: Path) -> None:
    assert len(CORPUS_FILES) >= 55
    box_id, _ = local_mailbox(client, admin, org, session_factory, incoming_filter="all",
                         unknown_senders="create_contact")
    maildir = tmp_path / "corpus"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    keys: dict[str, bytes] = {}
    for i, path in enumerate(CORPUS_FILES):  # as files, not through mailbox.add: the bytes exactly as they are
        name = f"{i:03d}.{path.parent.name}-{path.stem}"
        (maildir / "new" / name).write_bytes(path.read_bytes())
        keys[f"maildir:{name}"] = path.read_bytes()

    summary = import_local(session_factory, box_id, maildir, TrackingOptions(batch_size=10))

    assert summary.fetched == len(CORPUS_FILES)
    assert summary.tracked + summary.duplicates + summary.quarantined == len(CORPUS_FILES)
    assert summary.tracked > 40
    assert set(summary.folders[str(maildir)].quarantined_by_reason) <= set(QUARANTINE_REASONS)
    with session_factory() as session:
        sighted = set(session.scalars(select(MailSighting.folder).where(MailSighting.mailbox_id == box_id)))
        quarantined = {q.folder: q for q in session.scalars(select(MailQuarantine))}
        for key, raw in keys.items():  # none lost: each is an activity's sighting, or in quarantine with its bytes
            if key in quarantined:
                assert quarantined[key].raw_sha256 == hashlib.sha256(raw).hexdigest()
                assert quarantined[key].reason in QUARANTINE_REASONS
            else:
                assert key in sighted, key
        assert {"empty", "no_headers"} <= {q.reason for q in quarantined.values()}
        assert len(session.scalars(select(TrackedMessage.id)).all()) == summary.tracked
    assert len(emails(client, admin)) == summary.tracked
    rerun = import_local(session_factory, box_id, maildir)
    assert (rerun.tracked, rerun.quarantined, rerun.duplicates) == (0, 0, len(CORPUS_FILES))


def test_smart_matching_links_one_thread_and_sends_two_to_review(client, admin: TestUser, org: OrgBuilder,
                                                                 session_factory, tmp_path: Path) -> None:
    box_id, rep = local_mailbox(client, admin, org, session_factory)
    jane = contact(client, rep, "Jane", "Doe", "jane@customer.example")
    cases = [created(client, rep, "cases", {"title": f"Case {i}", "customer_type": "contact",
                                            "customer_id": jane["id"]}) for i in range(2)]

    def crm_sent(i: int, subject: str) -> bytes:  # an email written in the CRM, and its copy in Sent
        created(client, rep, "activities", {
            "activity_type": "email", "subject": subject, "regarding_type": "case", "regarding_id": cases[i]["id"],
            "message_id": f"crm-{i}@contoso.example", "direction_outgoing": True,
            "parties": [{"role": "to", "address": "jane@customer.example"}]})
        return mail(sender=rep.email, to="jane@customer.example", subject=subject, body=f"crm {i}",
                    message_id=f"<crm-{i}@contoso.example>")

    smart = TrackingOptions(smart_matching=True)
    sent = import_local(session_factory, box_id, maildir(tmp_path / "A", {"Sent": [crm_sent(0, "Printer on fire")]}),
                        smart)
    assert (sent.tracked, sent.duplicates) == (0, 1)  # the CRM's own mail is recognised, not tracked twice
    reply = mail(sender="jane@customer.example", to=rep.email, subject="Fwd: printer ON fire", body="still burning")
    import_local(session_factory, box_id, maildir(tmp_path / "B", {"": [reply]}), smart)
    [linked] = [e for e in emails(client, rep) if e["subject"] == "Fwd: printer ON fire"]
    assert (linked["regarding_type"], linked["regarding_id"]) == ("case", cases[0]["id"])

    import_local(session_factory, box_id, maildir(tmp_path / "C", {"Sent": [crm_sent(1, "Printer on fire")]}), smart)
    again = mail(sender="jane@customer.example", to=rep.email, subject="RE: Printer on fire", body="which one?")
    import_local(session_factory, box_id, maildir(tmp_path / "D", {"": [again]}), smart)
    [ambiguous] = [e for e in emails(client, rep) if e["subject"] == "RE: Printer on fire"]
    assert ambiguous["regarding_id"] is None  # no guess between the two cases
    with session_factory() as session:
        row = session.scalar(select(TrackedMessage).where(TrackedMessage.email_id == uuid.UUID(ambiguous["id"])))
        assert row is not None and (row.signal, row.link_status) == ("smart_match", "needs_review")
        assert sorted(c["id"] for c in row.candidates) == sorted(c["id"] for c in cases)
