"""The IMAP sync benchmark's mail: generated messages of realistic shape (a relay's headers, threads, HTML
alternatives, attachments), written straight into a Dovecot account's Maildir, and the small change sets
(new mail by APPEND, flag changes, expunges) that a user's day makes on the server.

Filling 50,000 messages by IMAP APPEND would take longer than the benchmark: the files go into `cur/` with
Maildir names (size and virtual size in the name, as Dovecot writes them, so it need not stat each file)
before Dovecot first opens the mailbox, which then indexes them on its first SELECT. The MIME is written by
hand rather than through `email.message`, which would make the corpus build several times slower; every
message is a valid RFC 5322 message with the usual multipart structure.

Sizes: about 9 KB for a message without attachment (headers, a text body of 1.5 to 10 KB, a third with an
HTML alternative), and an attachment of 10 to 88 KB (before base64) on a quarter of them: 25 KB on average."""

import base64
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import imapclient

OWNER = "rep@contoso.example"
WORDS = ("invoice", "quote", "delivery", "meeting", "renewal", "support", "printer", "contract", "order",
         "schedule", "update", "question", "pricing", "account", "service", "training", "the", "for", "and",
         "please", "thanks", "attached", "next", "week", "call", "about", "our", "your", "with", "team")
ATTACHMENTS = (("application/pdf", "pdf"), ("application/vnd.openxmlformats-officedocument.wordprocessingml"
               ".document", "docx"), ("image/png", "png"))
STARTED = 1_700_000_000  # the first message's date; one message a minute after it


def senders(count: int = 200) -> list[str]:
    """The corpus's correspondents; the benchmark makes every fourth one a known contact."""
    return [f"person{i}@customer{i % 40}.example" for i in range(count)]


@dataclass
class Generator:
    """Deterministic messages for one seed: message `i` is the same bytes in every run."""

    seed: int
    senders: list[str] = field(default_factory=senders)
    _ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def message(self, i: int) -> tuple[bytes, int, bool]:
        """Message number `i`: its bytes (LF line ends, as in a Maildir), its date and whether it has an
        attachment."""
        rng = self.rng
        when = STARTED + i * 61
        sender = rng.choice(self.senders)
        name = f"Person {sender.split('@')[0][6:]}"
        message_id = f"<{i}.{rng.getrandbits(48):012x}@mail.customer.example>"
        reply_to = rng.choice(self._ids[-50:]) if self._ids and rng.random() < 0.33 else None
        self._ids.append(message_id)
        date = format_datetime(datetime.fromtimestamp(when, UTC))
        relay = f"mx{rng.randint(1, 9)}.contoso.example"
        headers = [
            f"Return-Path: <{sender}>",
            f"Delivered-To: {OWNER}",
            f"Received: from {relay} ([10.1.{rng.randint(0, 255)}.{rng.randint(1, 254)}])\n"
            f"\tby imap.contoso.example with LMTP id {rng.getrandbits(64):016x}\n\tfor <{OWNER}>; {date}",
            f"Received: from smtp.{sender.split('@')[1]} (smtp.{sender.split('@')[1]} "
            f"[192.0.2.{rng.randint(1, 254)}])\n\tby {relay} (Postfix) with ESMTPS id {rng.getrandbits(40):010X}"
            f"\n\tfor <{OWNER}>; {date}",
            "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=" + sender.split("@")[1]
            + "; s=mail;\n\th=from:to:subject:date:message-id; bh="
            + base64.b64encode(rng.randbytes(32)).decode() + ";\n\tb="
            + "\n\t ".join(_chunks(base64.b64encode(rng.randbytes(192)).decode(), 64)),
            f"From: {name} <{sender}>",
            f"To: Rita Rep <{OWNER}>",
            *([f"Cc: {rng.choice(self.senders)}"] if rng.random() < 0.2 else []),
            f"Subject: {'Re: ' if reply_to else ''}{_sentence(rng, 4)[:-1]}",
            f"Date: {date}",
            f"Message-ID: {message_id}",
            *([f"In-Reply-To: {reply_to}", f"References: {reply_to}"] if reply_to else []),
            "MIME-Version: 1.0",
        ]
        text = _text(rng, rng.randint(1_500, 10_000))
        body = _part("text/plain; charset=utf-8", "quoted-printable", text)
        if rng.random() < 0.33:
            html = "<html><body>" + "".join(f"<p>{p}</p>\n" for p in text.split("\n\n")) \
                + f"<img src=\"https://track.example/{i}.gif\"></body></html>\n"
            body = _multipart("alternative", [body, _part("text/html; charset=utf-8", "7bit", html)], rng)
        attached = rng.random() < 0.25
        if attached:
            mime, ext = rng.choice(ATTACHMENTS)
            content = base64.encodebytes(rng.randbytes(rng.randint(10_000, 88_000))).decode()
            attachment = (f"Content-Type: {mime}; name=\"document-{i}.{ext}\"\n"
                          f"Content-Disposition: attachment; filename=\"document-{i}.{ext}\"\n"
                          f"Content-Transfer-Encoding: base64\n\n{content}")
            body = _multipart("mixed", [body, attachment], rng)
        return ("\n".join(headers) + "\n" + body).encode(), when, attached


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def _chunks(text: str, size: int) -> list[str]:
    return [text[k:k + size] for k in range(0, len(text), size)]


def _text(rng: random.Random, size: int) -> str:
    """Paragraphs of short lines (no line needs quoted-printable's soft breaks) up to about `size` chars."""
    paragraphs, total = [], 0
    while total < size:
        lines = [_sentence(rng, rng.randint(5, 11)) for _ in range(rng.randint(2, 6))]
        paragraphs.append("\n".join(lines))
        total += sum(len(line) + 1 for line in lines) + 1
    return "\n\n".join(paragraphs) + "\n"


def _part(content_type: str, encoding: str, content: str) -> str:
    return f"Content-Type: {content_type}\nContent-Transfer-Encoding: {encoding}\n\n{content}"


def _multipart(subtype: str, parts: list[str], rng: random.Random) -> str:
    boundary = f"=_{rng.getrandbits(64):016x}"
    inner = "".join(f"--{boundary}\n{p}\n" for p in parts)
    return f"Content-Type: multipart/{subtype}; boundary=\"{boundary}\"\n\n{inner}--{boundary}--\n"


def _flags(rng: random.Random) -> str:
    """Maildir info flags, in the ASCII order the spec asks: most mail read, some answered or flagged."""
    flags = {"S"} if rng.random() < 0.8 else set()
    if rng.random() < 0.1:
        flags.add("R")
    if rng.random() < 0.05:
        flags.add("F")
    return "".join(sorted(flags))


@dataclass
class CorpusFacts:
    messages: int
    bytes: int
    with_attachments: int


def fill_maildir(maildir: Path, owner: tuple[int, int], generator: Generator, count: int,
                 advance: Callable[[int], None] = lambda _n: None) -> CorpusFacts:
    """Writes `count` messages into the Maildir `maildir` (created, owned by `owner` = (uid, gid) so that the
    server's mail processes can use it), each file's mtime its date (Dovecot's INTERNALDATE)."""
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    total = attached = 0
    flag_rng = random.Random(generator.seed + 1)
    for i in range(count):
        raw, when, has_attachment = generator.message(i)
        virtual = len(raw) + raw.count(b"\n")  # the size with CRLF line ends, as IMAP sends it
        path = maildir / "cur" / f"{when}.M{i}P1.bench,S={len(raw)},W={virtual}:2,{_flags(flag_rng)}"
        path.write_bytes(raw)
        os.utime(path, (when, when))
        total += len(raw)
        attached += has_attachment
        if i % 500 == 499 or i == count - 1:
            advance(i % 500 + 1)
    for path in [maildir, *maildir.iterdir(), *(maildir / "cur").iterdir()]:
        os.chown(path, *owner)
    return CorpusFacts(count, total, attached)


@dataclass
class ChangeSet:
    new: int = 10
    flag_changes: int = 20
    expunges: int = 5


def apply_changes(client: imapclient.IMAPClient, generator: Generator, first_number: int, change: ChangeSet,
                  rng: random.Random) -> int:
    """A user's morning on the server, through an ordinary IMAP client: `change.new` messages delivered (numbered
    from `first_number`), `change.flag_changes` messages flagged or unflagged, `change.expunges` deleted and
    expunged, all distinct. Returns the next message number."""
    client.select_folder("INBOX")
    uids = client.search("ALL")
    picked = rng.sample(uids, change.flag_changes + change.expunges)
    flip, gone = picked[:change.flag_changes], picked[change.flag_changes:]
    current = client.fetch(flip, ["FLAGS"])
    flagged = [uid for uid in flip if imapclient.FLAGGED in current[uid][b"FLAGS"]]
    unflagged = [uid for uid in flip if uid not in flagged]
    if flagged:
        client.remove_flags(flagged, [imapclient.FLAGGED])
    if unflagged:
        client.add_flags(unflagged, [imapclient.FLAGGED])
    client.delete_messages(gone)
    client.uid_expunge(gone)
    for number in range(first_number, first_number + change.new):
        raw, when, _ = generator.message(number)
        client.append("INBOX", raw.replace(b"\n", b"\r\n"), msg_time=datetime.fromtimestamp(when, UTC))
    client.unselect_folder()
    return first_number + change.new
