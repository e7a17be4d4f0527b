"""The demo's mail: what a salesperson's mailbox and the support queue's mailbox hold, built as RFC 5322
messages that `crm demo load` writes to a throw-away Maildir and imports through the tracking pipeline
(mailbridge.tracking.import_local), as a migration would.

Generated rather than shipped, because the mail must name the demo's people (whose names the loader draws
from its seed), answer the demo's own emails by their Message-IDs and tracking tokens, and be dated relative
to the moment of loading, as the demo's activities are. Nothing here is random: the same cast gives the same
bytes.

What it shows once tracked: a customer's reply with an attachment, found by In-Reply-To, and the rep's answer
to it; a lead's reply from a client that dropped In-Reply-To, found by the tracking token in its subject; an
HTML mail whose script, event handler and tracking pixel the sanitiser removes; the Sent copy of an email the
CRM sent, recognised rather than tracked twice; and a customer's mail to the support queue that the queue's
email-to-case rule turns into a case, with her follow-up added to it."""

import mailbox
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

# The demo records the mail is about (workers/demo_data.py): whose mailbox, and which of his emails it answers.
REP = "sales"  # Tom Becker: his mailbox is imported
ORDER_SUBJECT = "Your Adventure Works Cycles order"  # the buyer answers it, with her purchase order
QUOTE_SUBJECT = "Workstation configurations and prices"  # the lead answers it by its token
BUYER, EVALUATOR, SUPPORT_CUSTOMER = "adventure_cycles/0", "proseware/0", "litware/0"  # contacts: account/n
LEAD = "lucerne"

# The support desk: a queue of the Service unit's representative, its mailbox and its email-to-case rule.
SUPPORT_OWNER = "service"
SUPPORT_QUEUE = "Support"
SUPPORT_ADDRESS = "support@contoso.com"
RULE_NAME = "Support mail"
# The server profile of the demo's mailboxes: their mail is imported, so no server is behind it; a host under
# .invalid, which never resolves (RFC 6761), so that nothing is reached should someone approve and sync one (a
# loopback host would be refused as a server address: docs/security.md).
PROFILE_NAME = "Demo mail (imported, no server)"
PROFILE_HOST = "mail.demo.invalid"

# Where each mailbox's messages go: "" is the Maildir's top folder (the inbox), others are subfolders.
Folders = dict[str, list[EmailMessage]]


@dataclass(frozen=True)
class Person:
    name: str
    address: str

    @property
    def first_name(self) -> str:
        return self.name.split()[0]

    def header(self) -> Address:
        local, _, domain = self.address.partition("@")
        return Address(self.name, local, domain)


@dataclass(frozen=True)
class SentEmail:
    """One of the demo's emails the CRM sent, as the mail that answers it needs it."""

    subject: str
    message_id: str  # without angle brackets, as the CRM stores it
    sent_on: datetime
    body: str
    token: str | None = None


@dataclass(frozen=True)
class Cast:
    """The people of the demo's mail and the demo emails it answers; `now` is the loader's moment."""

    rep: Person
    buyer: Person
    lead: Person
    evaluator: Person
    support_customer: Person
    support: Person
    order: SentEmail
    quote: SentEmail
    now: datetime

    def at(self, days: int, hour: int, minute: int) -> datetime:
        """A moment `days` from now (negative: past) at this time of day, like the demo's activities."""
        return self.now.replace(hour=hour, minute=minute, second=0, microsecond=0) + timedelta(days=days)


def _message(sender: Person, to: Person, subject: str, sent_on: datetime, message_id: str, body: str,
             in_reply_to: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender.header()
    message["To"] = to.header()
    message["Subject"] = subject
    message["Date"] = format_datetime(sent_on)
    message["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        message["In-Reply-To"] = f"<{in_reply_to}>"
        message["References"] = f"<{in_reply_to}>"
    message.set_content(body)
    return message


def _domain(person: Person) -> str:
    return person.address.rpartition("@")[2]


# A purchase order as the buyer's ERP exports it: the attachment of her reply.
PURCHASE_ORDER = ("line,item,quantity,unit price (USD)\n"
                  "1,Road bike frame (L),20,480.00\n"
                  "2,Commuter helmet,40,35.00\n"
                  "3,Repair kit,60,12.50\n")

# The evaluator's scorecard, as an HTML mail tool writes it: a style sheet, an analytics script, an event
# handler and a tracking pixel, none of which survive the sanitiser; the table and the link do.
SCORECARD_HTML = """<html><head><style>td {{ padding: 4px; }}</style>
<script>window.location = "https://survey.proseware.com/track?u=tom";</script></head>
<body><p>Hi {rep},</p>
<p>here is where you stand after the product demo:</p>
<table border="1" cellpadding="4">
<tr><th>Criterion</th><th>Weight</th><th>Contoso</th></tr>
<tr><td>Reporting</td><td>30%</td><td>9/10</td></tr>
<tr><td>Outlook integration</td><td>40%</td><td>8/10</td></tr>
<tr><td>Price</td><td>30%</td><td>6/10</td></tr>
</table>
<p>Could you send us <a href="https://www.proseware.com/evaluation" onclick="track(this)">two reference
customers</a> by Friday?</p>
<p>Best regards,<br>{first}</p>
<img src="https://survey.proseware.com/open.gif?u=tom" width="1" height="1" alt="">
</body></html>
"""


def rep_mail(cast: Cast) -> Folders:
    """The salesperson's inbox and Sent folder. A reply is always in a folder imported after what it answers
    (the inbox goes first): the pipeline can only thread a mail to one it has already met."""
    rep, buyer, lead, evaluator = cast.rep, cast.buyer, cast.lead, cast.evaluator
    order_reply_id = f"po-4471.reply@{_domain(buyer)}"
    order_reply = _message(
        buyer, rep, f"RE: {cast.order.subject}", cast.at(-4, 9, 12), order_reply_id,
        f"Hi {rep.first_name},\n\nthank you for the confirmation. Our purchase order PO-4471 is attached; please "
        "ship the 40 helmets to our Redmond store rather than to the warehouse.\n\n"
        f"Best regards,\n{buyer.name}\n", in_reply_to=cast.order.message_id)
    order_reply.add_attachment(PURCHASE_ORDER.encode(), maintype="text", subtype="csv",
                               filename="PO-4471.csv")
    # From a phone client that keeps the subject but drops In-Reply-To: only the token says what it answers.
    quote_reply = _message(
        lead, rep, f"RE: {cast.quote.subject} {cast.quote.token}", cast.at(-5, 15, 5),
        f"mobile.8812@{_domain(lead)}",
        f"Hello {rep.first_name},\n\nconfiguration B looks right for our designers. Could you quote 50 of them "
        f"with three years of on-site support?\n\n{lead.first_name}\n\nSent from my phone\n")
    scorecard = _message(
        evaluator, rep, "Our evaluation scorecard", cast.at(-3, 16, 40), f"scorecard.2291@{_domain(evaluator)}",
        f"Hi {rep.first_name},\n\nhere is where you stand after the product demo: reporting 9/10, Outlook "
        "integration 8/10, price 6/10. Could you send us two reference customers by Friday?\n\n"
        f"Best regards,\n{evaluator.first_name}\n")
    scorecard.add_alternative(SCORECARD_HTML.format(rep=rep.first_name, first=evaluator.first_name),
                              subtype="html")
    answer = _message(
        rep, buyer, f"RE: {cast.order.subject}", cast.at(-4, 11, 30), f"answer.po-4471@{_domain(rep)}",
        f"Hi {buyer.first_name},\n\nthanks for the order: the helmets go to the Redmond store, the rest to the "
        f"warehouse, all in week 32.\n\nBest regards,\n{rep.name}\n", in_reply_to=order_reply_id)
    # The copy the mail server kept of the quote the CRM sent: the same mail, which must not be tracked twice.
    quote_copy = _message(rep, lead, f"{cast.quote.subject} {cast.quote.token}", cast.quote.sent_on,
                          cast.quote.message_id, cast.quote.body)
    return {"": [order_reply, quote_reply, scorecard], "Sent": [answer, quote_copy]}


def support_mail(cast: Cast) -> Folders:
    """The support queue's inbox: a customer's request, which opens a case, and her follow-up to it."""
    customer, support = cast.support_customer, cast.support
    request_id = f"portal-sign-in.1207@{_domain(customer)}"
    request = _message(
        customer, support, "Cannot sign in to the admin portal", cast.at(-1, 8, 5), request_id,
        "Hello,\n\nsince this morning none of our administrators can sign in to the admin portal: it answers "
        "\"account locked\" for everyone. Our onboarding workshop depends on it.\n\n"
        f"Regards,\n{customer.name}\n")
    follow_up = _message(
        customer, support, "Re: Cannot sign in to the admin portal", cast.at(-1, 9, 20),
        f"portal-sign-in.1208@{_domain(customer)}",
        "One more detail: signing in with a personal account still works.\n\n"
        f"{customer.first_name}\n", in_reply_to=request_id)
    return {"": [request, follow_up]}


def write_maildir(path: Path, folders: Folders) -> Path:
    """A Maildir at `path` holding `folders`. Files are named by their place, so that the import (which reads
    a folder in the order of its file names) meets them in the order they were written."""
    root = mailbox.Maildir(path, create=True)
    for folder, messages in folders.items():
        if folder:
            root.add_folder(folder)  # Maildir++: a subfolder is the dot-folder beside cur/, new/ and tmp/
        target = path / f".{folder}" if folder else path
        for number, message in enumerate(messages, start=1):
            (target / "cur" / f"{number:04d}.demo:2,S").write_bytes(message.as_bytes())
    return path
