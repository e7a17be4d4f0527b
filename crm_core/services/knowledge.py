"""Knowledge articles (DOMAIN.md §9, knowledgearticle): drafting, review, approval, publishing now or at
publish_on, expiry, archiving, new versions, search, links to cases, and the text to put in an email.
The states and the choices made where Dynamics leaves one are in crm_core/knowledge_states.py.

Who sees what: a Published article is seen by everyone its read privilege reaches (every default role reads
articles organisation-wide); an article in any other state only by those whose write privilege reaches it
(its author, his manager at business-unit depth, administrators). Beyond that it answers 404, as records
beyond reach do. Publishing a version archives the version published before it, so that readers find one
published version per article."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session

from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.entities import entity
from crm_core.errors import Conflict, Forbidden, InvalidStateTransition, NotFound, ValidationFailed
from crm_core.knowledge_states import ARCHIVED, DRAFT, EXPIRED, PUBLISHED, SCHEDULED, VERSIONABLE
from crm_core.knowledge_states import KNOWLEDGE_ARTICLE as STATES
from crm_core.models import Case, KnowledgeArticle, Subject, knowledge_article_cases
from crm_core.security import access
from crm_core.security.privileges import Depth, Privilege
from crm_core.services import knowledge_search, listing
from crm_core.services.autonumber import next_number
from crm_core.services.records import OwnerRef, RecordService

PUBLIC_NUMBER_PREFIX = "KA"
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
MAX_KEYWORDS, MAX_KEYWORD_LENGTH = 50, 100


@dataclass(frozen=True)
class EmailInsert:
    subject: str
    body: str


def keyword_list(keywords: str | None) -> list[str]:
    return [k for k in (keywords or "").split(", ") if k]


def _keywords(value: Any) -> str | None:
    """Keywords as stored: "a, b, c", each once (whatever its case), spaces collapsed."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else value
    out: list[str] = []
    for i, item in enumerate(items):
        keyword = " ".join(str(item).split())
        if not keyword:
            continue
        if "," in keyword:
            raise ValidationFailed.field(f"keywords[{i}]", "a keyword cannot contain a comma")
        if len(keyword) > MAX_KEYWORD_LENGTH:
            raise ValidationFailed.field(f"keywords[{i}]", f"at most {MAX_KEYWORD_LENGTH} characters")
        if keyword.casefold() not in {k.casefold() for k in out}:
            out.append(keyword)
    if len(out) > MAX_KEYWORDS:
        raise ValidationFailed.field("keywords", f"at most {MAX_KEYWORDS} keywords")
    return ", ".join(out) or None


class KnowledgeArticleService(RecordService[KnowledgeArticle]):
    entity_name = "knowledge_article"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "title", "article_public_number"}

    # --- who sees what -----------------------------------------------------------------------------
    def visible(self) -> ColumnElement[bool]:
        """The articles the caller sees: published ones he reads, and the others his write privilege reaches."""
        readable = access.scope(self.principal, self.spec, Privilege.READ)
        writable: ColumnElement[bool] = false()
        if self.principal.depth(self.entity_name, Privilege.WRITE) is not Depth.NONE:
            writable = access.scope(self.principal, self.spec, Privilege.WRITE)
        return and_(readable, or_(KnowledgeArticle.statecode == PUBLISHED, writable))

    def list(self, query: listing.ListQuery) -> listing.Page[KnowledgeArticle]:
        stmt = select(KnowledgeArticle).where(self.visible())
        rows = list(self.session.scalars(listing.apply(stmt, KnowledgeArticle, query, self.sortable)))
        return listing.page(rows, query)

    def get(self, record_id: uuid.UUID, privilege: Privilege = Privilege.READ) -> KnowledgeArticle:
        record = super().get(record_id)
        if record.statecode != PUBLISHED and not self._may_write(record):
            raise NotFound(f"no {self.entity_name} with id {record_id}")
        if privilege is not Privilege.READ:
            access.require(self.session, self.principal, self.spec, privilege, record)
        return record

    def _may_write(self, record: KnowledgeArticle) -> bool:
        return (self.principal.depth(self.entity_name, Privilege.WRITE) is not Depth.NONE
                and access.reaches(self.session, self.principal, self.spec, Privilege.WRITE, record))

    # --- writes ------------------------------------------------------------------------------------
    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> KnowledgeArticle:
        self.principal.require(self.entity_name, Privilege.CREATE)
        record = KnowledgeArticle(id=uuid.uuid4(), major_version_number=1, minor_version_number=0,
                                  is_latest_version=True)
        self._set_owner(record, owner or OwnerRef("user", self.principal.user_id), Privilege.CREATE)
        record.statecode, record.statuscode = STATES.resolve(DRAFT, None)
        self.apply(record, values, creating=True)
        record.article_public_number = next_number(self.session, PUBLIC_NUMBER_PREFIX)
        self.session.add(record)
        self._save(record)
        return record

    def update(self, record_id: uuid.UUID, values: dict[str, Any]) -> KnowledgeArticle:
        record = self.get(record_id, Privilege.WRITE)
        self.ensure_editable(record)
        self.apply(record, values, creating=False)
        self._save(record)
        return record

    def _save(self, record: KnowledgeArticle) -> None:
        self.session.flush()
        knowledge_search.refresh_vector(self.session, record)
        self.uow.commit()

    def apply(self, record: KnowledgeArticle, values: dict[str, Any], creating: bool) -> None:
        values = dict(values)
        if "keywords" in values:
            values["keywords"] = _keywords(values["keywords"])
        super().apply(record, values, creating)

    def validate(self, record: KnowledgeArticle, values: dict[str, Any], creating: bool) -> None:
        record.title = knowledge_search.nfc(record.title or "").strip()
        if not record.title:
            raise ValidationFailed.field("title", "an article needs a title")
        for key in ("content", "keywords"):
            if values.get(key) is not None:
                setattr(record, key, knowledge_search.nfc(getattr(record, key)))
        record.language_code = (record.language_code or "en").strip()
        if not _LANGUAGE.match(record.language_code):
            raise ValidationFailed.field("language_code", "a language tag such as en, en-GB or de-CH")
        # Subjects are the organisation's topic list, read by everyone: filing under one needs no Append To.
        if values.get("subject_id") is not None and self.session.get(Subject, record.subject_id) is None:
            raise ValidationFailed.field("subject_id", f"no subject with id {record.subject_id}")
        if record.publish_on and record.expiration_date and record.expiration_date <= record.publish_on:
            raise ValidationFailed.field("expiration_date", "must be later than publish_on")

    def ensure_editable(self, record: KnowledgeArticle) -> None:
        if record.statecode != DRAFT:
            state = STATES.state(record.statecode).name
            raise Conflict(f"this article is {state} and read-only: only drafts change; make a new version "
                           "(POST /knowledge-articles/{id}/new-version) to update it")

    def before_delete(self, record: KnowledgeArticle) -> None:
        later = self.session.scalar(select(func.count()).select_from(KnowledgeArticle)
                                    .where(KnowledgeArticle.root_article_id == record.id))
        if later:
            raise Conflict(f"this is the first version of an article with {later} later versions; delete those "
                           "first (or archive this one)")
        if record.is_latest_version and record.root_article_id is not None:
            # Deleting a new draft version gives the "latest" mark back to the newest one left.
            previous = self.session.scalars(
                select(KnowledgeArticle).where(_family(record.root_article_id), KnowledgeArticle.id != record.id)
                .order_by(KnowledgeArticle.major_version_number.desc(), KnowledgeArticle.minor_version_number.desc())
                .limit(1)
            ).first()
            if previous is not None:
                previous.is_latest_version = True

    # --- lifecycle ---------------------------------------------------------------------------------
    def set_state(self, record_id: uuid.UUID, statecode: int, statuscode: int | None,
                  action: str = "set_state") -> KnowledgeArticle:
        record = self.get(record_id, Privilege.WRITE)
        target, _ = STATES.resolve(statecode, statuscode)
        if target in (SCHEDULED, PUBLISHED) and target != record.statecode:
            raise ValidationFailed.field("statecode", "publish with POST /knowledge-articles/{id}/publish "
                                         "(with publish_on to schedule it)")
        return super().set_state(record_id, statecode, statuscode, action)

    def publish(self, record_id: uuid.UUID, publish_on: datetime | None = None) -> KnowledgeArticle:
        """Publishes now, or schedules for publish_on (given here, or set on the draft) if it is ahead."""
        record = self.get(record_id, Privilege.WRITE)
        now = utcnow()
        when = publish_on if publish_on is not None else record.publish_on
        target = SCHEDULED if when is not None and when > now else PUBLISHED
        if record.statecode == PUBLISHED:
            raise Conflict("this article is published already")
        if record.statecode == DRAFT:
            raise InvalidStateTransition("approve the article before publishing it")
        STATES.check_transition(record.statecode, target)
        starts = when if target == SCHEDULED else now
        if record.expiration_date is not None and starts is not None and record.expiration_date <= starts:
            raise ValidationFailed.field("expiration_date", "the article would expire before it is published")
        self.uow.set_action("publish")
        record.publish_on = starts
        record.statecode, record.statuscode = STATES.resolve(target, None)
        if target == PUBLISHED:
            _archive_earlier_published(self.session, record)
        self.session.flush()
        self.uow.commit()
        return record

    def new_version(self, record_id: uuid.UUID, major: bool) -> KnowledgeArticle:
        """A new Draft copy of the article, numbered next (2.0 major, 1.1 minor); the source stays as it is."""
        source = self.get(record_id)
        self.principal.require(self.entity_name, Privilege.CREATE)
        if source.statecode not in VERSIONABLE:
            state = STATES.state(source.statecode).name
            raise Conflict(f"this article is {state}: change it as it is; versions are made of published, "
                           "expired or archived articles")
        if not source.is_latest_version:
            raise Conflict("a newer version of this article exists; make the new version from the latest one")
        version = KnowledgeArticle(
            id=uuid.uuid4(), title=source.title, content=source.content, keywords=source.keywords,
            subject_id=source.subject_id, language_code=source.language_code,
            article_public_number=source.article_public_number,
            major_version_number=source.major_version_number + 1 if major else source.major_version_number,
            minor_version_number=0 if major else source.minor_version_number + 1,
            root_article_id=source.root_article_id or source.id, parent_article_content_id=source.id,
            is_latest_version=True,
        )
        self._set_owner(version, OwnerRef("user", self.principal.user_id), Privilege.CREATE)
        version.statecode, version.statuscode = STATES.resolve(DRAFT, None)
        self.uow.set_action("new_version")
        source.is_latest_version = False
        self.session.add(version)
        self._save(version)
        return version

    # --- search and use ----------------------------------------------------------------------------
    def search(self, q: str, statecode: int | None = None, language_code: str | None = None,
               subject_id: uuid.UUID | None = None, limit: int = 20) -> list[knowledge_search.Hit]:
        """Published articles by default; `statecode` finds others (among those the caller may change)."""
        words = knowledge_search.terms(q)
        state = PUBLISHED if statecode is None else STATES.state(statecode).code
        conditions = [self.visible(), KnowledgeArticle.statecode == state]
        if language_code is not None:
            conditions.append(KnowledgeArticle.language_code == language_code)
        if subject_id is not None:
            conditions.append(KnowledgeArticle.subject_id == subject_id)
        return knowledge_search.search(self.session, conditions, words, limit)

    def as_email(self, record_id: uuid.UUID) -> EmailInsert:
        article = self.get(record_id)
        _require_published(article, "goes into an email")
        body = f"{article.title}\n\n{(article.content or '').strip()}\n\n" \
               f"({article.article_public_number}, version {article.version})"
        return EmailInsert(subject=article.title, body=body)

    # --- links to cases (knowledgearticleincident) ---------------------------------------------------
    def link_case(self, record_id: uuid.UUID, case_id: uuid.UUID) -> None:
        article = self.get(record_id)
        _require_published(article, "is linked to cases")
        self.principal.require(self.entity_name, Privilege.APPEND)
        case = self._case(case_id, Privilege.APPEND_TO)
        states = entity("case").states
        if states is not None and case.statecode in states.closed:
            raise Conflict(f"this case is {states.state(case.statecode).name} and read-only; reactivate it first")
        if case in article.cases:
            raise Conflict("this article is linked to this case already")
        self.uow.set_action("link_case")
        article.cases.append(case)
        self.session.flush()
        self.uow.commit()

    def unlink_case(self, record_id: uuid.UUID, case_id: uuid.UUID) -> None:
        article = self.get(record_id)
        self.principal.require(self.entity_name, Privilege.APPEND)
        case = self._case(case_id, Privilege.APPEND_TO)
        if case not in article.cases:
            raise NotFound("this article is not linked to this case")
        self.uow.set_action("unlink_case")
        article.cases.remove(case)
        self.session.flush()
        self.uow.commit()

    def linked_cases(self, record_id: uuid.UUID) -> list[Case]:
        """The cases linked to the article that the caller may read."""
        self.get(record_id)
        case_spec = entity("case")
        return list(self.session.scalars(
            select(Case).join(knowledge_article_cases, knowledge_article_cases.c.case_id == Case.id)
            .where(knowledge_article_cases.c.article_id == record_id,
                   access.scope(self.principal, case_spec, Privilege.READ))
            .order_by(Case.created_on, Case.id)
        ))

    def articles_of_case(self, case_id: uuid.UUID) -> list[KnowledgeArticle]:
        """The articles linked to a case the caller reads, among those he sees."""
        self._case(case_id, Privilege.READ)
        return list(self.session.scalars(
            select(KnowledgeArticle)
            .join(knowledge_article_cases, knowledge_article_cases.c.article_id == KnowledgeArticle.id)
            .where(knowledge_article_cases.c.case_id == case_id, self.visible())
            .order_by(KnowledgeArticle.title, KnowledgeArticle.id)
        ))

    def _case(self, case_id: uuid.UUID, privilege: Privilege) -> Case:
        spec = entity("case")
        case = self.session.get(Case, case_id)
        if case is None or not access.reaches(self.session, self.principal, spec, Privilege.READ, case):
            raise NotFound(f"no case with id {case_id}")
        if not access.reaches(self.session, self.principal, spec, privilege, case):
            raise Forbidden(f"your roles do not let you link articles to this case ({privilege.value} on case)")
        return case


def _require_published(article: KnowledgeArticle, use: str) -> None:
    if article.statecode != PUBLISHED:
        state = STATES.state(article.statecode).name
        raise Conflict(f"only a published article {use}; this one is {state}")


def _family(root_id: uuid.UUID) -> ColumnElement[bool]:
    return or_(KnowledgeArticle.id == root_id, KnowledgeArticle.root_article_id == root_id)


def _archive_earlier_published(session: Session, record: KnowledgeArticle) -> None:
    root_id = record.root_article_id or record.id
    for other in session.scalars(select(KnowledgeArticle).where(
            _family(root_id), KnowledgeArticle.id != record.id, KnowledgeArticle.statecode == PUBLISHED)):
        other.statecode, other.statuscode = STATES.resolve(ARCHIVED, None)


def apply_schedule(uow: UnitOfWork, now: datetime | None = None) -> tuple[int, int]:
    """Publishes the Scheduled articles whose publish_on has come and expires the Published ones whose
    expiration_date has passed; returns (published, expired). For a periodic job, acting for the organisation."""
    session = uow.session
    now = now or utcnow()
    uow.set_action("publish")
    due = list(session.scalars(select(KnowledgeArticle).where(
        KnowledgeArticle.statecode == SCHEDULED, KnowledgeArticle.publish_on <= now)))
    for article in due:
        article.statecode, article.statuscode = STATES.resolve(PUBLISHED, None)
        _archive_earlier_published(session, article)
    session.flush()
    uow.set_action("expire")
    ended = list(session.scalars(select(KnowledgeArticle).where(
        KnowledgeArticle.statecode == PUBLISHED, KnowledgeArticle.expiration_date <= now)))
    for article in ended:
        article.statecode, article.statuscode = STATES.resolve(EXPIRED, None)
    session.flush()
    uow.commit()
    return len(due), len(ended)

