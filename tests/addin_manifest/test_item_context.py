"""What the task pane shows for a mail in view (addin_manifest.context): the records behind its addresses, their
open cases and opportunities (a contact's account's too), their recent activities, whether the mail is tracked
and regarding what; all within what the caller may read."""

import mailbox as stdlib_mailbox
import uuid

from addin_manifest.context import item_context
from crm_core.security.principal import load_principal
from mailbridge.tracking import TrackingOptions, import_local
from tests.api import created
from tests.mailbridge.tracking_fixtures import local_mailbox, mail
from tests.org import OrgBuilder


def _context(session_factory, user, **kwargs):
    with session_factory() as session:
        return item_context(session, load_principal(session, user.id), **kwargs)


def test_a_mail_from_a_known_contact_shows_him_his_account_their_open_business_and_history(
        client, org: OrgBuilder, session_factory, tmp_path) -> None:
    admin = org.admin()
    account = created(client, admin, "accounts", {"name": "Fabrikam"})
    jane = created(client, admin, "contacts", {"first_name": "Jane", "last_name": "Doe",
                                               "email_address1": "jane@fabrikam.example",
                                               "parent_account_id": account["id"]})
    lead = created(client, admin, "leads", {"last_name": "Lee", "subject": "Interested",
                                            "email_address1": "lee@prospect.example"})
    case = created(client, admin, "cases", {"title": "Printer jam", "customer_type": "account",
                                            "customer_id": account["id"]})
    opportunity = created(client, admin, "opportunities", {"name": "50 printers", "currency_code": "EUR",
                                                           "customer_type": "contact", "customer_id": jane["id"]})
    created(client, admin, "activities", {"activity_type": "phone_call", "subject": "Called about the jam",
                                          "regarding_type": "case", "regarding_id": case["id"]})
    mailbox_id, rep = local_mailbox(client, admin, org, session_factory, incoming_filter="all")
    message_id = f"<{uuid.uuid4()}@fabrikam.example>"
    folder = tmp_path / "mail"
    box = stdlib_mailbox.Maildir(folder, create=True)
    box.add(mail(sender="Jane Doe <jane@fabrikam.example>", to=rep.email, subject="Jam again", message_id=message_id))
    import_local(session_factory, mailbox_id, folder, TrackingOptions(parse_workers=0))

    ctx = _context(session_factory, admin, sender="Jane Doe <jane@fabrikam.example>",
                   recipients=[("to", rep.email), ("cc", "LEE@prospect.example"), ("cc", "nobody@else.example")],
                   internet_message_id=message_id)

    by_address = {p.address: [(r.type, r.name) for r in p.records] for p in ctx.people}
    assert by_address["jane@fabrikam.example"] == [("contact", "Jane Doe")]
    assert by_address["lee@prospect.example"] == [("lead", "Lee")]
    assert by_address["nobody@else.example"] == []
    assert [(c.title, c.customer.name) for c in ctx.open_cases] == [("Printer jam", "Fabrikam")]
    assert ctx.open_cases[0].number
    assert [(o.title, o.customer.name) for o in ctx.open_opportunities] == [("50 printers", "Jane Doe")]
    assert "Jam again" in [a.subject for a in ctx.recent_activities]
    assert ctx.tracked is not None and str(ctx.tracked.email_id) in {
        e["id"] for e in client.get("/api/v1/activities", params={"activity_type": "email"},
                                    headers=admin.headers).json()["items"]}
    assert lead["id"] and opportunity["id"]


def test_what_the_caller_may_not_read_is_not_shown(client, org: OrgBuilder, session_factory) -> None:
    admin = org.admin()
    other_unit = org.unit("Elsewhere")
    outsider = org.user("outsider@contoso.example", ["Salesperson"], unit_id=other_unit)
    created(client, admin, "contacts", {"first_name": "Jane", "last_name": "Doe",
                                        "email_address1": "jane@fabrikam.example"})

    ctx = _context(session_factory, outsider, sender="jane@fabrikam.example", recipients=[],
                   internet_message_id="<not-tracked@example.com>")

    assert [(p.address, p.records) for p in ctx.people] == [("jane@fabrikam.example", [])]
    assert ctx.open_cases == [] and ctx.recent_activities == [] and ctx.tracked is None


def test_bad_addresses_are_skipped_not_fatal(client, org: OrgBuilder, session_factory) -> None:
    admin = org.admin()
    ctx = _context(session_factory, admin, sender="not an address", recipients=[("to", "<script>@x")])
    assert ctx.people == [] and ctx.tracked is None


def test_the_record_picker_finds_by_name_address_and_number_within_reach(client, org: OrgBuilder,
                                                                         session_factory) -> None:
    from addin_manifest.search import search_records

    admin = org.admin()
    account = created(client, admin, "accounts", {"name": "Fabrikam"})
    created(client, admin, "contacts", {"first_name": "Fab", "last_name": "Ian", "email_address1": "ian@x.example"})
    case = created(client, admin, "cases", {"title": "Printer jam", "customer_type": "account",
                                            "customer_id": account["id"]})
    created(client, admin, "accounts", {"name": "100%_Real"})

    def found(user, text, **kwargs):
        with session_factory() as session:
            return [(f.type, f.name) for f in search_records(session, load_principal(session, user.id), text,
                                                              **kwargs)]

    assert found(admin, "fab") == [("contact", "Fab Ian"), ("account", "Fabrikam")]
    assert found(admin, "IAN@x") == [("contact", "Fab Ian")]
    assert found(admin, case["case_number"][:6], kinds=["case"]) == [("case", "Printer jam")]
    assert found(admin, "100%") == [("account", "100%_Real")]  # LIKE's wildcards are taken literally
    assert found(admin, "10_") == []
    outsider = org.user("outsider@contoso.example", ["Salesperson"], unit_id=org.unit("Elsewhere"))
    assert found(outsider, "fab") == []
