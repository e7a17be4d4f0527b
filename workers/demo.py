"""`crm demo load`: the demo organisation (workers/demo_data.py) written through the domain services.

Each record is created by the user who owns it, with his own principal, so that his roles, the services'
rules and normalisation, and the audit trail (created by, who changed what) are those of real use. Team
records are created by the team's manager for the team.

Then the mail (workers/demo_mail.py): the administrator sets up a salesperson's mailbox and the support
queue's, with the queue's email-to-case rule, and their mail is imported through the tracking pipeline as a
migration's would be, so that what the demo shows of mail tracking is what tracking really does."""

import random
import tempfile
import unicodedata
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crm_core import case_states, hooks
from crm_core.activity_catalogue import CANCELED, COMPLETED
from crm_core.db.engine import make_session_factory
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import Conflict
from crm_core.models import Account, Activity, BusinessUnit, CaseRuleDecision, Contact, Email, Lead, User
from crm_core.security import secrets as sealed
from crm_core.security.principal import Principal, load_principal
from crm_core.services import directory
from crm_core.services.activities import ActivityService
from crm_core.services.api_tokens import ApiTokenService
from crm_core.services.autonumber import next_sequence
from crm_core.services.business_units import BusinessUnitService
from crm_core.services.case_creation_rules import CaseCreationRuleService
from crm_core.services.customers import AccountService, ContactService, LeadService
from crm_core.services.email_server_profiles import EmailServerProfileService
from crm_core.services.mailboxes import MailboxService
from crm_core.services.organisation import ensure_organisation
from crm_core.services.queues import QueueService
from crm_core.services.records import OwnerRef
from crm_core.services.teams import TeamService
from crm_core.services.users import UserService
from mailbridge.message import TrackingTokens
from mailbridge.outgoing.sender import TOKEN_COUNTER
from mailbridge.tracking import SyncSummary, TrackingOptions, import_local
from workers import demo_data as data
from workers import demo_mail as mail
from workers.demo_scheduling import make_schedule

ACTIVITY_LABELS = {"phone_call": ("phone call", "phone calls"), "email": ("email", "emails"),
                   "task": ("task", "tasks"), "appointment": ("appointment", "appointments"),
                   "letter": ("letter", "letters"), "fax": ("fax", "faxes"),
                   "service_activity": ("booked service activity", "booked service activities")}
ADMIN_EMAIL = next(u.email for u in data.USERS if u.key == data.ADMIN)


@dataclass(frozen=True)
class LoadedUser:
    email: str
    full_name: str
    roles: tuple[str, ...]
    business_unit: str
    token: str


@dataclass(frozen=True)
class LoadedMail:
    """What the import of the demo's mail did, and the cases the queue's rule opened from it."""

    mailboxes: tuple[str, ...]  # "Tom Becker", "the Support queue"
    imported: int
    tracked: int
    duplicates: int  # met again: the Sent copy of an email the CRM sent
    skipped: int
    quarantined: int
    cases: int

    def summary(self) -> str:
        found = [f"{self.imported} messages imported"]
        for n, what in ((self.duplicates, "already in the CRM"), (self.skipped, "skipped"),
                        (self.quarantined, "quarantined")):
            if n:
                found.append(f"{n} {what}")
        cases = f"{self.cases} case{'s' if self.cases != 1 else ''}"
        return (f"mail: {self.tracked} emails tracked ({', '.join(found)}), {cases} opened by email-to-case\n"
                f"  mailboxes: {' and '.join(self.mailboxes)} (imported from a Maildir: no server behind them)")


@dataclass
class DemoResult:
    organisation: str
    users: list[LoadedUser]
    counts: dict[str, int]
    activity_counts: dict[str, int] = field(default_factory=dict)
    mail: LoadedMail | None = None

    @property
    def tokens(self) -> dict[str, str]:
        return {u.email: u.token for u in self.users}

    @property
    def admin(self) -> LoadedUser:
        return next(u for u in self.users if u.email == ADMIN_EMAIL)

    def summary(self) -> str:
        records = ", ".join(f"{n} {what}" for what, n in self.counts.items())
        kinds = ", ".join(f"{n} {ACTIVITY_LABELS[k][n != 1]}" for k, n in self.activity_counts.items())
        text = f"Loaded the demo organisation [bold]{self.organisation}[/bold]:\n  {records}\n  activities: {kinds}"
        return text + (f"\n  {self.mail.summary()}" if self.mail is not None else "")


def load(uow: UnitOfWork, if_empty: bool = False, token_days: int = 365) -> DemoResult | None:
    """Loads the demo organisation. With `if_empty`, does nothing (None) on a database that has accounts or
    the demo's users or units already; without it, such a database is refused before anything is written.
    Commits as it goes: each service commits its record."""
    session = uow.session
    has_accounts = session.execute(select(Account.id).limit(1)).first() is not None
    taken = session.scalar(select(User.email).where(User.email.in_([u.email for u in data.USERS])).limit(1))
    taken = taken or session.scalar(
        select(BusinessUnit.name).where(BusinessUnit.name.in_([name for name, _ in data.UNITS])).limit(1))
    if if_empty and (has_accounts or taken):
        return None
    if taken:
        raise Conflict(f"the demo is loaded already ({taken} exists); --if-empty skips")
    return _Loader(uow, token_days).run()


def _ascii(text: str) -> str:
    """An email local part from a name: accents dropped, only letters kept ("O'Brien" -> "obrien")."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum())


class _Loader:
    def __init__(self, uow: UnitOfWork, token_days: int) -> None:
        self.uow = uow
        self.session = uow.session
        self.token_days = token_days
        self.rng = random.Random(data.SEED)
        self.now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        self.users: dict[str, User] = {}
        self.principals: dict[str, Principal] = {}
        self.team_id: uuid.UUID | None = None
        self.accounts: dict[str, Account] = {}
        self.contacts: dict[str, list[Contact]] = {}  # account key ("" for none) -> its contacts, in order
        self.leads: dict[str, Lead] = {}
        self.message_ids: dict[str, str] = {}  # email subject -> Message-ID, to thread the replies
        self.emails: dict[str, Activity] = {}  # email subject -> the email, for the mail that answers it
        self.tokens = TrackingTokens()  # the tracking options' default, which the demo's import uses

    def run(self) -> DemoResult:
        root_name, users = self.organisation()
        self.make_accounts()
        self.make_contacts()
        self.make_leads()
        activity_counts = self.make_activities()
        activity_counts["service_activity"] = self.make_schedule()
        loaded_mail = self.make_mail()
        self.act_as(None)
        counts = {
            "business units": len(data.UNITS) + 1, "users": len(self.users), "owner team": 1,
            "accounts": len(self.accounts), "contacts": sum(len(c) for c in self.contacts.values()),
            "leads": len(self.leads),
        }
        return DemoResult(root_name, users, counts, activity_counts, loaded_mail)

    # --- the organisation ----------------------------------------------------------------------------
    def organisation(self) -> tuple[str, list[LoadedUser]]:
        """The organisation makes its administrator; he builds the rest, as on a first day."""
        root = ensure_organisation(self.session, data.ROOT_NAME)
        self.uow.commit()
        admin = next(u for u in data.USERS if u.key == data.ADMIN)
        self.users[admin.key] = self.create_user(UserService(self.uow, Principal.system()), admin, root.id)
        self.act_as(admin.key)
        as_admin = load_principal(self.session, self.users[admin.key].id)
        units_service = BusinessUnitService(self.uow, as_admin)
        if root.name == data.DEFAULT_ROOT_NAME:  # an organisation nobody has named yet becomes Contoso
            root = units_service.update(root.id, {"name": data.ROOT_NAME})
        units = {None: root}
        for name, parent in data.UNITS:
            units[name] = units_service.create({"name": name, "parent_id": units[parent].id})
        users_service = UserService(self.uow, as_admin)
        for spec in data.USERS:
            if spec.key not in self.users:
                self.users[spec.key] = self.create_user(users_service, spec, units[spec.unit].id)
        teams = TeamService(self.uow, as_admin)
        team = teams.create({"name": data.TEAM_NAME, "business_unit_id": units[data.TEAM_UNIT].id})
        teams.set_roles(team.id, [r.id for r in directory.find_roles(self.session, list(data.TEAM_ROLES))])
        teams.set_members(team.id, [self.users[k].id for k in data.TEAM_MEMBERS])
        self.team_id = team.id
        loaded = []
        for spec in data.USERS:  # each user makes his own token
            self.act_as(spec.key)
            principal = self.principals[spec.key] = load_principal(self.session, self.users[spec.key].id)
            _, token = ApiTokenService(self.uow, principal).create_mine(data.TOKEN_NAME, self.token_days)
            loaded.append(LoadedUser(spec.email, spec.full_name, spec.roles, units[spec.unit].name, token))
        return root.name, loaded

    def create_user(self, service: UserService, spec: data.DemoUser, unit_id: uuid.UUID) -> User:
        roles = directory.find_roles(self.session, list(spec.roles))
        return service.create({"email": spec.email, "full_name": spec.full_name, "business_unit_id": unit_id,
                               "role_ids": [r.id for r in roles]})

    def act_as(self, key: str | None) -> None:
        """Later writes are audited as this user's (None: the system)."""
        actor = self.users[key].id if key else None
        self.uow.actor_id = actor
        self.session.info["actor_id"] = actor

    def owner(self, key: str) -> tuple[Principal, OwnerRef]:
        """Acts as the user who creates the records of this owner key; returns his principal and the owner
        to give them. A team's records are made by the team's manager (its first member) for the team."""
        if key == data.TEAM:
            acting = data.TEAM_MEMBERS[0]
            self.act_as(acting)
            assert self.team_id is not None
            return self.principals[acting], OwnerRef("team", self.team_id)
        self.act_as(key)
        return self.principals[key], OwnerRef("user", self.users[key].id)

    # --- customers -----------------------------------------------------------------------------------
    def make_accounts(self) -> None:
        for spec in data.ACCOUNTS:
            principal, owner = self.owner(spec.owner)
            addresses = [self.address(spec, 1, "Head office" if spec.parent is None else spec.city, spec.line1)]
            if spec.employees >= 1000:  # big customers get goods at a warehouse of theirs
                street = f"{self.rng.randint(100, 9999)} Industrial Pkwy"
                addresses.append(self.address(spec, 2, "Warehouse", street))
            local = "info" if spec.parent is None else _ascii(spec.city)
            values = {
                "name": spec.name, "account_number": spec.number, "email_address1": f"{local}@{spec.domain}",
                "telephone1": spec.phone, "website_url": f"https://www.{spec.domain}",
                "industry_code": spec.industry_code, "customer_type_code": spec.customer_type_code,
                "number_of_employees": spec.employees, "revenue": spec.revenue, "description": spec.description,
                "addresses": addresses,
            }
            if spec.parent:
                values["parent_account_id"] = self.accounts[spec.parent].id
            self.accounts[spec.key] = AccountService(self.uow, principal).create(values, owner)

    @staticmethod
    def address(spec: data.DemoAccount, type_code: int, name: str, line1: str) -> dict[str, Any]:
        return {"address_type_code": type_code, "name": name, "line1": line1, "city": spec.city,
                "state_or_province": spec.state, "postal_code": spec.postal_code, "country": spec.country,
                "telephone": spec.phone}

    def make_contacts(self) -> None:
        rng = self.rng
        total = sum(a.contacts for a in data.ACCOUNTS)
        names = list(zip(rng.sample(data.FIRST_NAMES, total), rng.sample(data.LAST_NAMES, total), strict=True))
        for spec in data.ACCOUNTS:
            principal, owner = self.owner(spec.owner)
            service = ContactService(self.uow, principal)
            made = []
            for _ in range(spec.contacts):
                first, last = names.pop()
                values = self.contact_values(spec, first, last)
                values["parent_account_id"] = self.accounts[spec.key].id
                made.append(service.create(values, owner))
            self.contacts[spec.key] = made
            accounts = AccountService(self.uow, principal)
            accounts.update(self.accounts[spec.key].id, {"primary_contact_id": made[0].id})
            if spec.inactive:  # deactivated last: an inactive account is read-only
                accounts.set_state(self.accounts[spec.key].id, 1, None, action="deactivate")
        for key, first, last, title, email in data.INDEPENDENT_CONTACTS:
            principal, owner = self.owner(key)
            values = {"first_name": first, "last_name": last, "job_title": title, "email_address1": email,
                      "birth_date": self.birth_date()}
            self.contacts.setdefault("", []).append(ContactService(self.uow, principal).create(values, owner))

    def contact_values(self, spec: data.DemoAccount, first: str, last: str) -> dict[str, Any]:
        rng = self.rng
        values: dict[str, Any] = {
            "first_name": first, "last_name": last, "job_title": rng.choice(data.JOB_TITLES),
            # Written as people type them; the service normalises (lower case) and validates.
            "email_address1": f"{_ascii(first).title()}.{_ascii(last).title()}@{spec.domain}",
            "telephone1": f"{spec.phone[:-2]}{rng.randint(10, 99)}",
            "preferred_contact_method_code": rng.choice((1, 1, 2, 3)),
        }
        if rng.random() < 0.35:  # an alias, as many people have
            values["email_address2"] = f"{_ascii(first)[0]}{_ascii(last)}@{spec.domain}"
        if rng.random() < 0.5:
            values["mobile_phone"] = f"{spec.phone[:-4]}{rng.randint(150, 199):04d}"
        if rng.random() < 0.6:
            values["birth_date"] = self.birth_date()
        addresses = [self.address(spec, 3, "Work", spec.line1)]
        if rng.random() < 0.3:
            home = {**self.address(spec, 4, "Home", f"{rng.randint(10, 999)} {rng.choice(data.HOME_STREETS)}"),
                    "telephone": None}
            addresses.append(home)
        values["addresses"] = addresses
        return values

    def birth_date(self) -> date:
        return date.today() - timedelta(days=self.rng.randint(25 * 365, 62 * 365))

    def make_leads(self) -> None:
        for spec in data.LEADS:
            principal, owner = self.owner(spec.owner)
            service = LeadService(self.uow, principal)
            values: dict[str, Any] = {
                "subject": spec.subject, "first_name": spec.first_name, "last_name": spec.last_name,
                "company_name": spec.company, "job_title": spec.job_title, "email_address1": spec.email,
                "telephone1": spec.phone, "lead_source_code": spec.source_code, "lead_quality_code": spec.quality_code,
                "estimated_amount": spec.amount,
            }
            if spec.parent_account:
                values["parent_account_id"] = self.accounts[spec.parent_account].id
                values["parent_contact_id"] = self.contacts[spec.parent_account][0].id
            lead = service.create(values, owner)
            if spec.disqualified is not None:
                lead = service.set_state(lead.id, 2, spec.disqualified, action="disqualify")
            self.leads[spec.key] = lead

    # --- activities ----------------------------------------------------------------------------------
    def make_activities(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for spec in data.ACTIVITIES:
            self.create_activity(spec)
            counts[spec.kind] += 1
        return {kind: counts[kind] for kind in ACTIVITY_LABELS if counts[kind]}

    def resolve(self, reference: str) -> tuple[str | None, uuid.UUID | None, str | None]:
        """(party type, id, address) of a reference such as "contact:fabrikam/1" (see demo_data)."""
        kind, _, name = reference.partition(":")
        if kind == "address":
            return None, None, name
        if kind == "user":
            user = self.users[name]
            return "user", user.id, user.email
        if kind == "contact":
            account, _, index = name.partition("/")
            contact = self.contacts[account][int(index)]
            return "contact", contact.id, contact.email_address1
        record = self.leads[name] if kind == "lead" else self.accounts[name]
        return kind, record.id, record.email_address1

    def party(self, role: str, reference: str, by_address: bool) -> dict[str, Any]:
        party_type, party_id, address = self.resolve(reference)
        if by_address or party_id is None:
            return {"role": role, "address": address}
        return {"role": role, "party_type": party_type, "party_id": party_id}

    def create_activity(self, spec: data.DemoActivity) -> Activity:
        start = self.now.replace(hour=spec.hour) + timedelta(days=spec.day)
        end = start + timedelta(minutes=spec.minutes)
        statecode, statuscode = spec.state
        regarding_type, regarding_id, _ = self.resolve(spec.regarding)
        is_email = spec.kind == "email"
        values: dict[str, Any] = {
            "activity_type": spec.kind, "subject": spec.subject, "description": spec.description,
            "regarding_type": regarding_type, "regarding_id": regarding_id, **spec.extra,
            # Emails come with addresses, as mail does: the service resolves them to contacts and users.
            "parties": [self.party(role, ref, by_address=is_email) for role, ref in spec.parties],
        }
        if spec.outgoing is not None:
            values["direction_outgoing"] = spec.outgoing
        if is_email:
            if statecode == COMPLETED:
                values.update(sent_on=start, actual_end=start, message_id=self.message_id(spec))
                if spec.subject.startswith("RE: "):
                    values["in_reply_to"] = self.message_ids.get(spec.subject.removeprefix("RE: "))
            if spec.state == data.MAIL_SENT:
                # Sent from the CRM, so with a tracking token, numbered as the sender numbers them.
                values["tracking_token"] = self.tokens.format(next_sequence(self.session, TOKEN_COUNTER))
        else:
            values.update(scheduled_start=start, scheduled_end=end)
            if statecode == COMPLETED:
                values.update(actual_start=start, actual_end=end, actual_duration_minutes=spec.minutes)
        principal, owner = self.owner(spec.owner)
        service = ActivityService(self.uow, principal)
        activity = service.create(values, owner)
        if (activity.statecode, activity.statuscode) != spec.state:
            action = {COMPLETED: "complete", CANCELED: "cancel"}.get(statecode, "set_state")
            activity = service.set_state(activity.id, statecode, statuscode, action=action)
        if is_email:
            self.emails[spec.subject] = activity
        return activity

    def message_id(self, spec: data.DemoActivity) -> str:
        """Without angle brackets, as tracking and the sender store Message-IDs, so that replies find it."""
        sender = next((ref for role, ref in spec.parties if role == "sender"), "user:admin")
        domain = (self.resolve(sender)[2] or "contoso.com").rpartition("@")[2]
        value = f"{uuid.UUID(int=self.rng.getrandbits(128), version=4)}@{domain}"
        self.message_ids[spec.subject] = value
        return value

    # --- mail ----------------------------------------------------------------------------------------
    def make_schedule(self) -> int:
        """The service calendar, built by the administrator; the service user books (workers/demo_scheduling)."""
        self.act_as(data.ADMIN)
        admin = load_principal(self.session, self.users[data.ADMIN].id)
        self.act_as("service")
        scheduler = load_principal(self.session, self.users["service"].id)
        customer = self.contacts["litware"][0]
        return make_schedule(self.uow, admin, scheduler, self.users["service"], customer, self.now)

    def make_mail(self) -> LoadedMail:
        """The support queue (its owner makes it), then as the administrator: a server profile, the rep's and
        the queue's mailboxes and the queue's email-to-case rule; then their mail, through the pipeline."""
        principal, owner = self.owner(mail.SUPPORT_OWNER)
        queue = QueueService(self.uow, principal).create({
            "name": mail.SUPPORT_QUEUE, "email_address": mail.SUPPORT_ADDRESS,
            "description": "Customers' requests by mail; its mailbox's rule opens a case for each."}, owner)
        self.act_as(data.ADMIN)
        factory = self.mail_factory()
        rep = self.users[mail.REP]
        with UnitOfWork(factory, actor_id=self.users[data.ADMIN].id) as uow:
            admin = self.principals[data.ADMIN]
            profile = EmailServerProfileService(uow, admin).create({
                "name": mail.PROFILE_NAME, "incoming_host": mail.PROFILE_HOST, "incoming_security": "tls",
                "description": "The demo's mailboxes: their mail was imported by `crm demo load`, not fetched. "
                               "Point them at a real server profile to sync them."})
            mailboxes = MailboxService(uow, admin)
            rep_box = mailboxes.create({"email_address": rep.email, "name": rep.full_name, "regarding_type": "user",
                                        "regarding_id": rep.id, "server_profile_id": profile.id})
            queue_box = mailboxes.create({"email_address": mail.SUPPORT_ADDRESS, "name": mail.SUPPORT_QUEUE,
                                          "regarding_type": "queue", "regarding_id": queue.id,
                                          "server_profile_id": profile.id, "folders": ["INBOX"]})
            rules = CaseCreationRuleService(uow, admin)
            # No acknowledgement: the demo's mailboxes have no server to send it through.
            rule = rules.create({"name": mail.RULE_NAME, "queue_id": queue.id, "items": [{"name": "Customer mail"}],
                                 "description": f"A case for each customer's mail to {mail.SUPPORT_ADDRESS}."})
            rules.set_state(rule.id, case_states.RULE_ACTIVE, None, action="activate")
        cast = self.cast()
        summaries: list[SyncSummary] = []
        with tempfile.TemporaryDirectory(prefix="crm-demo-mail-") as tmp:
            for box_id, folders in ((rep_box.id, mail.rep_mail(cast)), (queue_box.id, mail.support_mail(cast))):
                path = mail.write_maildir(Path(tmp) / str(box_id), folders)
                summaries.append(import_local(factory, box_id, path, TrackingOptions()))
        with factory() as session:
            cases = session.scalar(select(func.count()).select_from(CaseRuleDecision)
                                   .where(CaseRuleDecision.rule_id == rule.id, CaseRuleDecision.outcome == "created"))
        return LoadedMail(
            (rep.full_name, f"the {mail.SUPPORT_QUEUE} queue"), sum(s.fetched for s in summaries),
            sum(s.tracked for s in summaries), sum(s.duplicates for s in summaries),
            sum(s.skipped for s in summaries), sum(s.quarantined for s in summaries), cases or 0)

    def mail_factory(self) -> sessionmaker[Session]:
        """Sessions of their own on the loader's database, as import_local commits batch by batch: with the
        hooks every CRM session factory has, and the caller's secrets keyring, which the mailbox service asks
        for."""
        self.uow.commit()  # nothing of the loader's may hold the database while the import writes
        factory = hooks.install(make_session_factory(self.session.get_bind()))
        return sealed.install(factory, sealed.keyring_of(self.session))

    def cast(self) -> mail.Cast:
        def contact(reference: str) -> mail.Person:
            account, _, index = reference.partition("/")
            record = self.contacts[account][int(index)]
            return mail.Person(record.full_name, record.email_address1 or "")

        def sent(subject: str) -> mail.SentEmail:
            email = self.emails[subject]
            assert isinstance(email, Email)
            assert email.message_id is not None
            assert email.sent_on is not None
            return mail.SentEmail(subject, email.message_id, email.sent_on, email.body_text or "",
                                  email.tracking_token)

        rep, lead = self.users[mail.REP], self.leads[mail.LEAD]
        return mail.Cast(
            rep=mail.Person(rep.full_name, rep.email), buyer=contact(mail.BUYER),
            lead=mail.Person(f"{lead.first_name} {lead.last_name}", lead.email_address1 or ""),
            evaluator=contact(mail.EVALUATOR), support_customer=contact(mail.SUPPORT_CUSTOMER),
            support=mail.Person(f"Contoso {mail.SUPPORT_QUEUE}", mail.SUPPORT_ADDRESS),
            order=sent(mail.ORDER_SUBJECT), quote=sent(mail.QUOTE_SUBJECT), now=self.now)
