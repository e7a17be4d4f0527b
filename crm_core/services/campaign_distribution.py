"""Distribution (Dynamics' DistributeCampaignActivity): one activity per member of marketing lists, made
through ActivityService, in one transaction. Campaign activities and quick campaigns both use it.

Choices where Dynamics leaves room:
- The caller distributes, so the caller owns the new activities (Dynamics' "owner: the calling user"), and
  the members are those *he* can read: a static list's members he cannot read are skipped and counted,
  never named; a dynamic list's members are by definition the records he can read that match.
- A record in two lists (or twice through list types) gets one activity.
- Email: skipped for members with do_not_email, and for members without an email address; every other one
  is an outgoing email, Completed / Pending Send (6), sent by the owner, which the mail issue's sender picks
  up. Appointments invite the member as a required attendee; the other types address him as "to".
- A member whose activity fails a rule is counted as failed with the reason; the others go ahead."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from crm_core.db.savepoints import savepoint
from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import SharedWork, UnitOfWork
from crm_core.entities import entity
from crm_core.errors import Conflict, CrmError, Forbidden, NotFound, ValidationFailed
from crm_core.marketing_states import (
    CAMPAIGN_ACTIVITY_DISTRIBUTED,
    CHANNEL_ACTIVITY_TYPES,
    EMAIL_PENDING_SEND,
    MEMBER_ROLE,
)
from crm_core.models import Activity, CampaignActivity, MarketingList
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege
from crm_core.services.activities import ActivityService
from crm_core.services.campaigns import CampaignService
from crm_core.services.marketing_lists import member_condition, member_name
from crm_core.services.records import OwnerRef

SKIP_DO_NOT_EMAIL = "the member does not want email (do_not_email)"
SKIP_NO_ADDRESS = "the member has no email address"
_OUTGOING = ("phone_call", "email", "letter", "fax")





@dataclass(frozen=True)
class Member:
    type: str
    record: Any

    @property
    def email(self) -> str | None:
        for column in entity(self.type).email_columns:
            value = getattr(self.record, column, None)
            if value:
                return value  # type: ignore[no-any-return]
        return None

    @property
    def name(self) -> str:
        return member_name(self.type, self.record)


@dataclass
class Members:
    readable: list[Member]
    unreadable: int


def collect_members(session: Any, principal: Principal, lists: Sequence[MarketingList]) -> Members:
    """The members of the lists, each once, oldest record first per list; those the caller cannot read only
    counted (static lists: a dynamic list's members are the readable matches)."""
    seen: set[tuple[str, uuid.UUID]] = set()
    readable: list[Member] = []
    hidden: set[tuple[str, uuid.UUID]] = set()
    for lst in lists:
        spec = entity(lst.member_type)
        model = spec.model
        condition = member_condition(lst)
        try:
            scope = access.scope(principal, spec, Privilege.READ)
            rows = list(session.scalars(select(model).where(condition, scope).order_by(model.created_on, model.id)))
        except Forbidden:  # no read privilege on this member type at all
            rows = []
        for record in rows:
            key = (lst.member_type, record.id)
            if key not in seen:
                seen.add(key)
                readable.append(Member(lst.member_type, record))
        if not lst.is_dynamic:
            hidden.update((lst.member_type, i) for i in session.scalars(select(model.id).where(condition)))
    return Members(readable, len(hidden - seen))


def skip_reason(activity_type: str, member: Member) -> str | None:
    if activity_type != "email":
        return None
    if getattr(member.record, "do_not_email", False):
        return SKIP_DO_NOT_EMAIL
    if member.email is None:
        return SKIP_NO_ADDRESS
    return None


def create_member_activity(svc: ActivityService, activity_type: str, member: Member, subject: str,
                           description: str | None, regarding: tuple[str, uuid.UUID], owner: OwnerRef | None,
                           extra: dict[str, Any] | None = None, action: str = "distribute") -> Activity:
    """One activity for one member, inside a savepoint: a failure leaves nothing of it behind. Its audit rows
    carry `action` (the email's move to Pending Send as well)."""
    party: dict[str, Any] = {"role": MEMBER_ROLE[activity_type], "party_type": member.type,
                             "party_id": member.record.id}
    values: dict[str, Any] = {"activity_type": activity_type, "subject": subject, "description": description,
                              "regarding_type": regarding[0], "regarding_id": regarding[1], **(extra or {})}
    if activity_type in _OUTGOING:
        values["direction_outgoing"] = True
    parties = [party]
    if activity_type == "email":
        party["address"] = member.email
        values["body_text"] = description
        sender = owner.id if owner is not None and owner.type == "user" else svc.principal.user_id
        if not svc.principal.is_system:
            parties.insert(0, {"role": "sender", "party_type": "user", "party_id": sender})
    elif activity_type == "phone_call":
        values["phone_number"] = getattr(member.record, "telephone1", None) or getattr(
            member.record, "mobile_phone", None)
    values["parties"] = parties
    with savepoint(svc.session):
        svc.uow.set_action(action)
        activity = svc.create(values, owner)
        if activity_type == "email":
            svc.set_state(activity.id, *EMAIL_PENDING_SEND, action=action)
    return activity


@dataclass
class Distribution:
    activity_type: str
    created: int = 0
    skipped_unreadable: int = 0
    skipped_do_not_email: int = 0
    skipped_no_email_address: int = 0
    failed: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)


class CampaignDistributionService:
    def __init__(self, uow: UnitOfWork, principal: Principal) -> None:
        self.uow = uow
        self.principal = principal

    def distribute(self, campaign_id: uuid.UUID, activity_id: uuid.UUID) -> Distribution:
        """Creates one activity of the campaign activity's channel per member of the campaign's active lists,
        regarding the campaign; the campaign activity becomes Completed (6). 409 if distributed already."""
        shared = SharedWork(self.uow)
        campaigns = CampaignService(shared, self.principal)
        activities = ActivityService(shared, self.principal)
        campaign = campaigns.get(campaign_id)
        source = activities.get(activity_id, Privilege.WRITE)
        if not isinstance(source, CampaignActivity) or (source.regarding_type, source.regarding_id) != (
                "campaign", campaign.id):
            raise NotFound(f"no campaign activity {activity_id} on this campaign")
        if campaign.statecode in campaigns.spec.states.closed:  # type: ignore[union-attr]
            raise Conflict("this campaign is inactive; activate it before distributing its activities")
        if source.statecode != 0:
            raise Conflict("this campaign activity is closed or canceled; reopen it to distribute it")
        if source.statuscode == CAMPAIGN_ACTIVITY_DISTRIBUTED:
            raise Conflict("this campaign activity is distributed already")
        activity_type = CHANNEL_ACTIVITY_TYPES.get(source.channel_type_code or 0)
        if activity_type is None:
            raise ValidationFailed.field("channel_type_code", "set the campaign activity's channel (1 Phone, "
                                         "2 Appointment, 3 Letter, 5 Fax, 7 Email...) before distributing it")
        self.principal.require("activity", Privilege.CREATE)
        self.principal.require("activity", Privilege.APPEND)
        access.require(self.uow.session, self.principal, campaigns.spec, Privilege.APPEND_TO, campaign)

        lists = campaigns.attached_lists(campaign.id, active_only=True)
        members = collect_members(self.uow.session, self.principal, lists)
        result = Distribution(activity_type, skipped_unreadable=members.unreadable)
        extra: dict[str, Any] = {}
        if activity_type == "appointment":  # the meeting takes the campaign activity's schedule
            extra = {"scheduled_start": source.scheduled_start, "scheduled_end": source.scheduled_end}
        for member in members.readable:
            reason = skip_reason(activity_type, member)
            if reason == SKIP_DO_NOT_EMAIL:
                result.skipped_do_not_email += 1
                continue
            if reason == SKIP_NO_ADDRESS:
                result.skipped_no_email_address += 1
                continue
            try:
                create_member_activity(activities, activity_type, member, source.subject, source.description,
                                       ("campaign", campaign.id), None, extra)
            except CrmError as exc:
                result.failed += 1
                result.failures.append({"member_type": member.type, "member_id": str(member.record.id),
                                        "reason": exc.detail})
                continue
            result.created += 1
        activities.set_state(source.id, 0, CAMPAIGN_ACTIVITY_DISTRIBUTED, action="distribute")
        now = utcnow()
        for lst in lists:
            lst.last_used_on = now
        self.uow.session.flush()
        self.uow.commit()
        return result
