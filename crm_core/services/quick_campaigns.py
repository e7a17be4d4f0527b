"""Quick campaigns (Dynamics' bulkoperation of type 7): one activity of one type for every member of one
marketing list, with the count of targets, successes and failures, and why each failure failed.

Choices where Dynamics leaves room:
- Creating a quick campaign runs it, in the same request and transaction: Pending, In Progress, then
  Completed, or Aborted when it had targets and none succeeded. Its status follows the run only (set-state
  is refused) and a finished one is read-only.
- The activities regard the quick campaign, belong to its owner, and are addressed as a campaign
  distribution addresses them (see campaign_distribution): emails are outgoing and Pending Send; members
  with do_not_email or without an address are failures with that reason; a static list's members the caller
  cannot read are failures without their id.
- target_count counts every member: those the caller reads and the hidden ones of a static list.
- subject and description are templates: {name}, {first_name}, {last_name}, {company_name} and {email} are
  replaced by the member's values ({{ and }} for braces); any other placeholder is refused on create.
- Or an email quick campaign names an email template (email_template_id) instead: each member's email is the
  template rendered for him (services.email_templates: HTML-escaped values in the HTML body, no line break in
  the subject), with its HTML body; the member is the template's record, so a template for another entity
  (and not global) is refused on create. The quick campaign keeps the template's subject as its subject (no
  column holds the template's id)."""

import string
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import SharedWork
from crm_core.entities import entity
from crm_core.errors import Conflict, CrmError, NotFound, ValidationFailed
from crm_core.marketing_states import (
    QC_ABORTED,
    QC_COMPLETED,
    QC_IN_PROGRESS,
    QUICK_CAMPAIGN_TYPES,
)
from crm_core.models import MarketingList, QuickCampaign, QuickCampaignFailure
from crm_core.security.privileges import Privilege
from crm_core.services.activities import ActivityService
from crm_core.services.campaign_distribution import (
    Member,
    collect_members,
    create_member_activity,
    skip_reason,
)
from crm_core.services.email_templates import EmailTemplateService
from crm_core.services.marketing_lists import MarketingListService
from crm_core.services.records import OwnerRef, RecordService

PLACEHOLDERS = ("name", "first_name", "last_name", "company_name", "email")
UNREADABLE = "you cannot read this member"
# What one member's activity says: its subject, its description, and more values (an email's HTML body).
Content = Callable[[Member], tuple[str, str | None, dict[str, Any]]]


def parse_template(field_name: str, template: str | None) -> list[tuple[str, str | None]]:
    """A template as (literal text, placeholder or None) pieces; 422 naming the field if it is malformed."""
    if template is None:
        return []
    try:
        pieces = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValidationFailed.field(
            field_name, f"not a valid template ({exc}); write {{{{ and }}}} for braces") from None
    out: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in pieces:
        if name is not None and (name not in PLACEHOLDERS or spec or conversion):
            raise ValidationFailed.field(field_name, f"unknown placeholder {{{name}}}; use "
                                         f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
        out.append((literal, name))
    return out


def render(pieces: list[tuple[str, str | None]], member: Member) -> str:
    values = {
        "name": member.name, "first_name": getattr(member.record, "first_name", None),
        "last_name": getattr(member.record, "last_name", None),
        "company_name": member.record.name if member.type == "account" else getattr(
            member.record, "company_name", None),
        "email": member.email,
    }
    return "".join(literal + ((values[name] or "") if name else "") for literal, name in pieces)


def _placeholder_content(subject: list[tuple[str, str | None]],
                         description: list[tuple[str, str | None]]) -> Content:
    def content(member: Member) -> tuple[str, str | None, dict[str, Any]]:
        return render(subject, member), render(description, member) if description else None, {}

    return content


class QuickCampaignService(RecordService[QuickCampaign]):
    entity_name = "quick_campaign"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> QuickCampaign:
        self.principal.require(self.entity_name, Privilege.CREATE)
        self.principal.require("activity", Privilege.CREATE)
        values = dict(values)
        lst = self._list(values.pop("list_id", None))
        activity_type = values.get("activity_type")
        if activity_type not in QUICK_CAMPAIGN_TYPES:
            raise ValidationFailed.field("activity_type", f"one of {', '.join(QUICK_CAMPAIGN_TYPES)}")
        template_id = values.pop("email_template_id", None)
        if template_id is not None:
            content = self._template_content(template_id, activity_type, lst.member_type, values, owner)
        else:
            subject = parse_template("subject", values.get("subject"))
            description = parse_template("description", values.get("description"))
            if not subject:
                raise ValidationFailed.field("subject", "a quick campaign needs a subject for its activities "
                                             "(or, for emails, an email_template_id)")
            content = _placeholder_content(subject, description)

        record = QuickCampaign(id=uuid.uuid4())
        self._set_owner(record, owner or OwnerRef("user", self.principal.user_id), Privilege.CREATE)
        record.statecode, record.statuscode = self.spec.states.resolve(0, None)  # type: ignore[union-attr]
        values.update(list_id=lst.id, member_type=lst.member_type)
        self.apply(record, values, creating=True)
        self.session.add(record)
        self.session.flush()
        self._run(record, lst, content, owner)
        self.uow.commit()
        return record

    def validate(self, record: QuickCampaign, values: dict[str, Any], creating: bool) -> None:
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "a quick campaign needs a name")

    def set_state(self, record_id: uuid.UUID, statecode: int, statuscode: int | None,
                  action: str = "set_state") -> QuickCampaign:
        self.get(record_id, Privilege.WRITE)
        raise Conflict("a quick campaign's status follows its run; it cannot be set")

    def _list(self, list_id: Any) -> MarketingList:
        if list_id is None:
            raise ValidationFailed.field("list_id", "a quick campaign needs a marketing list")
        try:
            lst = MarketingListService(self.uow, self.principal).get(list_id)
        except NotFound:
            raise ValidationFailed.field("list_id", f"no marketing list with id {list_id}") from None
        if lst.statecode != 0:
            raise ValidationFailed.field("list_id", "this marketing list is inactive; activate it first")
        return lst

    def _template_content(self, template_id: uuid.UUID, activity_type: str, member_type: str,
                          values: dict[str, Any], owner: OwnerRef | None) -> Content:
        """Each member's email from the template; 422 naming email_template_id when it cannot write them."""
        if activity_type != "email":
            raise ValidationFailed.field("email_template_id", "an email template writes emails: use it with "
                                         "activity_type email")
        if values.get("subject") or values.get("description"):
            raise ValidationFailed.field("email_template_id", "give an email template or a subject and "
                                         "description, not both")
        templates = EmailTemplateService(SharedWork(self.uow), self.principal)
        try:
            template = templates.get(template_id)
        except NotFound:
            raise ValidationFailed.field("email_template_id", f"no email template with id {template_id}") from None
        if template.target_entity not in (None, member_type):
            raise ValidationFailed.field("email_template_id", f"this template is for a {template.target_entity}; "
                                         f"the list's members are {member_type}s")
        values.update(subject=template.subject[:400], description=None)
        # {{user.*}} is the sender's, as create_member_activity picks him.
        sender = owner.id if owner is not None and owner.type == "user" else self.principal.user_id
        spec = entity(member_type)

        def content(member: Member) -> tuple[str, str | None, dict[str, Any]]:
            done = templates.render_record(template, spec, member.record, sender).rendered
            return done.subject, done.body_text, {"body_html": done.body_html}

        return content

    def _run(self, record: QuickCampaign, lst: MarketingList, content: Content, owner: OwnerRef | None) -> None:
        self.uow.set_action("run")
        record.statuscode, record.started_on = QC_IN_PROGRESS, utcnow()
        self.session.flush()
        members = collect_members(self.session, self.principal, [lst])
        activities = ActivityService(SharedWork(self.uow), self.principal)
        failures: list[tuple[uuid.UUID | None, str]] = [(None, UNREADABLE)] * members.unreadable
        success = 0
        for member in members.readable:
            reason = skip_reason(record.activity_type, member)
            if reason is None:
                try:
                    subject, description, extra = content(member)
                    create_member_activity(
                        activities, record.activity_type, member, subject, description,
                        ("quick_campaign", record.id), owner, extra, action="quick_campaign")
                    success += 1
                    continue
                except CrmError as exc:
                    reason = exc.detail
            failures.append((member.record.id, reason[:400]))
        self.uow.set_action("run")  # the activities were audited as "quick_campaign"
        record.failures = [QuickCampaignFailure(id=uuid.uuid4(), position=i, member_id=member_id, reason=reason)
                           for i, (member_id, reason) in enumerate(failures)]
        record.target_count = len(members.readable) + members.unreadable
        record.success_count, record.failure_count = success, len(failures)
        aborted = record.target_count > 0 and success == 0
        record.statecode, record.statuscode = 1, QC_ABORTED if aborted else QC_COMPLETED
        record.completed_on = utcnow()
        lst.last_used_on = record.completed_on
        self.session.flush()
