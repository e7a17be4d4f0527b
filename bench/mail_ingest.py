"""Mail ingest: messages per second through our whole pipeline (read, normalise, dedupe, correlate, resolve
parties, persist the email activity, its parties, attachments and raw bytes, commit with the checkpoint), as
a ratio to the bare stdlib parse of the same messages in the same run.

    .venv/bin/python bench/mail_ingest.py [--messages 3000] [--rounds 3] [--database-url URL] [--quick]

The baseline reads each file of the same Maildir, parses it with `BytesParser(policy=default)`, takes the
text and HTML bodies with `get_body()` and every attachment's content. Ours runs `import_local` on that
Maildir into a fresh database (SQLite, and PostgreSQL when a server answers), with known contacts for a
quarter of the senders and threads for the replies. Target: at least 0.5 of the baseline's rate.

Writes the figures to the section `mail_ingest` of docs/benchmarks.md (not in --quick mode unless --output)."""

import argparse
import mailbox as stdlib_mailbox
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report
from bench.dataset import on_each_database
from crm_core import hooks
from crm_core.db import migrate
from crm_core.db.engine import make_engine, make_session_factory
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import Contact, EmailServerProfile, Mailbox, User
from crm_core.services.organisation import ensure_organisation
from mailbridge.sources.local import open_local
from mailbridge.tracking import TrackingOptions, import_local

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
OWNER = "rep@contoso.example"
WORDS = ("invoice", "quote", "delivery", "meeting", "renewal", "support", "printer", "contract", "order",
         "schedule", "update", "question", "pricing", "account", "service", "training")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=3000, help="messages in the corpus (default 3000)")
    p.add_argument("--rounds", type=int, default=3, help="measure each this many times, keep the median")
    p.add_argument("--database-url", default=DEFAULT_SERVER, help="PostgreSQL server (a fresh database is made)")
    p.add_argument("--no-postgresql", action="store_true", help="SQLite only")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--quick", action="store_true", help="a small smoke run (300 messages, 1 round)")
    p.add_argument("--output", type=Path, help="Markdown file to update (default docs/benchmarks.md, none with "
                   "--quick)")
    args = p.parse_args(argv)
    if args.quick:
        args.messages, args.rounds = 300, 1
    if args.output is None and not args.quick:
        args.output = Path("docs/benchmarks.md")
    return args


# --- the corpus --------------------------------------------------------------------------------------------
def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def corpus(directory: Path, messages: int, seed: int) -> tuple[Path, list[str]]:
    """A Maildir of `messages` mails: a third replies, a third with HTML, a quarter with attachments; and the
    sender addresses, a quarter of which the CRM will know as contacts."""
    rng = random.Random(seed)
    senders = [f"person{i}@customer{i % 40}.example" for i in range(200)]
    box = stdlib_mailbox.Maildir(directory / "Maildir", create=True)
    sent_ids: list[str] = []
    started = 1_700_000_000
    for i in range(messages):
        msg = EmailMessage()
        sender = rng.choice(senders)
        msg["From"] = f"Person {sender.split('@')[0][6:]} <{sender}>"
        msg["To"] = OWNER
        if rng.random() < 0.2:
            msg["Cc"] = rng.choice(senders)
        msg["Subject"] = ("Re: " if sent_ids and rng.random() < 0.33 else "") + _sentence(rng, 4)
        msg["Date"] = format_datetime(datetime.fromtimestamp(started + i * 61, UTC))
        msg["Message-ID"] = make_msgid(idstring=str(i), domain="mail.example")
        if msg["Subject"].startswith("Re: "):
            parent = rng.choice(sent_ids[-50:])
            msg["In-Reply-To"] = parent
            msg["References"] = parent
        sent_ids.append(msg["Message-ID"])
        text = "\n\n".join(_sentence(rng, rng.randint(8, 40)) for _ in range(rng.randint(3, 25)))
        msg.set_content(text)
        if rng.random() < 0.33:
            msg.add_alternative(f"<html><body><p>{text.replace(chr(10), '<br>')}</p>"
                                f"<img src='https://track.example/{i}.gif'></body></html>", subtype="html")
        if rng.random() < 0.25:
            size = rng.randint(2_000, 60_000)
            msg.add_attachment(rng.randbytes(size), maintype="application", subtype="pdf",
                               filename=f"document-{i}.pdf")
        box.add(msg.as_bytes())
    return directory / "Maildir", senders


# --- the two contestants -----------------------------------------------------------------------------------
def bare(path: Path) -> tuple[int, float]:
    """The stdlib parse of every message: headers, bodies, attachments' content."""
    parser = BytesParser(policy=policy.default)
    started = time.perf_counter()
    count = 0
    for item in open_local(path):
        message = parser.parsebytes(item.raw)
        for part in ("plain", "html"):
            body = message.get_body((part,))
            if body is not None:
                body.get_content()
        for attachment in message.iter_attachments():
            attachment.get_content()
        count += 1
    return count, time.perf_counter() - started


def ours(url: str, path: Path, senders: list[str]) -> tuple[int, float]:
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    hooks.install(factory)
    try:
        mailbox_id = _setup(factory, senders)
        started = time.perf_counter()
        summary = import_local(factory, mailbox_id, path, TrackingOptions())
        elapsed = time.perf_counter() - started
        if summary.quarantined:
            raise RuntimeError(f"{summary.quarantined} messages quarantined: the corpus should be clean")
        return summary.tracked + summary.duplicates, elapsed
    finally:
        engine.dispose()


def _setup(factory: Any, senders: list[str]) -> uuid.UUID:
    with UnitOfWork(factory) as uow:
        session = uow.session
        root = ensure_organisation(session)
        user = User(id=uuid.uuid4(), email=OWNER, full_name="Rita Rep", business_unit_id=root.id)
        profile = EmailServerProfile(id=uuid.uuid4(), name="Bench", incoming_host="127.0.0.1",
                                     incoming_security="plain")
        session.add_all([user, profile])
        session.flush()
        mailbox = Mailbox(id=uuid.uuid4(), name=OWNER, email_address=OWNER, user_id=user.id,
                          server_profile_id=profile.id, business_unit_id=root.id, incoming_filter="all")
        session.add(mailbox)
        for i, address in enumerate(senders[::4]):
            session.add(Contact(id=uuid.uuid4(), first_name="Person", last_name=str(i), full_name=f"Person {i}",
                                email_address1=address, owning_user_id=user.id,
                                owning_business_unit_id=root.id))
        session.flush()
        uow.commit()
        return mailbox.id


def measure(name: str, url_factory: Any, path: Path, senders: list[str], rounds: int) -> dict[str, Any]:
    bare_rates, our_rates, count = [], [], 0
    for _ in range(rounds):  # alternate, so that a slow moment of the machine hits both
        n, seconds = bare(path)
        bare_rates.append(n / seconds)
        with url_factory() as url:
            count, seconds = ours(url, path, senders)
        our_rates.append(count / seconds)
    b, o = statistics.median(bare_rates), statistics.median(our_rates)
    return {"database": name, "messages": count, "bare": b, "ours": o, "ratio": o / b}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path, senders = corpus(Path(tmp), args.messages, args.seed)
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())

        results, facts_url = on_each_database(
            lambda name, fresh: measure(name, fresh, path, senders, args.rounds), args.database_url,
            not args.no_postgresql)
    for r in results:
        print(f"{r['database']}: ours {r['ours']:.0f} msg/s, bare parse {r['bare']:.0f} msg/s, "
              f"ratio {r['ratio']:.2f}")
    if args.output is not None:
        facts = report.machine_facts(facts_url)
        rows = [[r["database"], f"{r['ours']:,.0f}", f"{r['bare']:,.0f}", f"**{r['ratio']:.2f}**"] for r in results]
        body = "\n".join([
            "## Mail ingest: our pipeline against the bare stdlib parse",
            "",
            "What it measures: messages per second through normalise + dedupe + correlate + parties + persist "
            "(`import_local` of a Maildir into a fresh database: the email activity, its parties, attachments "
            "and raw bytes, the sighting, committed in batches of 100, each batch tracked as a whole and its rows "
            "inserted in bulk while the next is parsed in a worker process, the main process taking over the "
            "parsing it would otherwise wait for), next to `BytesParser(policy=default)` "
            "plus body and attachment extraction of the same files in the same run. Target: a ratio of at "
            "least 0.5.",
            "",
            f"Command: `.venv/bin/python bench/mail_ingest.py --messages {args.messages} --rounds {args.rounds}`",
            "",
            *report.facts_lines(facts),
            f"- Corpus: {args.messages:,} generated messages ({size / 1024 / 1024:.1f} MiB on disk): a third "
            "replies in threads, a third with an HTML part, a quarter with a PDF attachment of 2 to 60 KB; "
            "a quarter of the 200 senders are known contacts. Median of "
            f"{args.rounds} round(s), the two alternating.",
            "",
            *report.table(["Database", "ours msg/s", "bare parse msg/s", "ratio"], rows),
        ])
        report.write_section(args.output, "mail_ingest", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
