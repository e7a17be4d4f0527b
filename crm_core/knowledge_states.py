"""The states of a knowledge article (DOMAIN.md §9, knowledgearticle; state/status pairs as Dynamics has them).

    Draft(0) --approve--> Approved(1) --publish--> Published(3), or Scheduled(2) until publish_on
    Published --expire--> Expired(4) --archive--> Archived(5);  Published --archive--> Archived
    Draft | Approved --discard--> Discarded(6)

Where Dynamics leaves the choice open we chose, and say so here:
- A new article is Draft/Draft (2); "review" is the In review (4) status of Draft, "reject" sends it back to
  Draft/Draft. Publishing needs an approved article: the review is optional, the approval is not.
- Only drafts are editable. Anything approved or later is read-only; an update goes through a new version
  (POST .../new-version), which is a new Draft, the earlier versions kept as they are.
- Archived and Discarded are final. An expired article may be published again or archived.
- Published and Scheduled are reached only through the publish action (which knows publish_on), never
  through set-state; a due Scheduled article is published by `knowledge.apply_schedule`.
"""

from crm_core.states import State, StateModel

DRAFT, APPROVED, SCHEDULED, PUBLISHED, EXPIRED, ARCHIVED, DISCARDED = range(7)
DRAFT_STATUS, IN_REVIEW_STATUS, EXPIRED_STATUS = 2, 4, 10

KNOWLEDGE_ARTICLE = StateModel(
    states=(
        State(DRAFT, "Draft", DRAFT_STATUS, {1: "Proposed", 2: "Draft", 3: "Needs review", 4: "In review"}),
        State(APPROVED, "Approved", 5, {5: "Approved"}),
        State(SCHEDULED, "Scheduled", 6, {6: "Scheduled"}),
        State(PUBLISHED, "Published", 7, {7: "Published", 8: "Needs review", 9: "Updating"}),
        State(EXPIRED, "Expired", EXPIRED_STATUS, {10: "Expired", 11: "Rejected"}),
        State(ARCHIVED, "Archived", 12, {12: "Archived"}),
        State(DISCARDED, "Discarded", 13, {13: "Discarded", 14: "Rejected"}),
    ),
    transitions={
        DRAFT: frozenset({APPROVED, DISCARDED}),
        APPROVED: frozenset({DRAFT, SCHEDULED, PUBLISHED, DISCARDED}),
        SCHEDULED: frozenset({APPROVED, PUBLISHED}),
        PUBLISHED: frozenset({EXPIRED, ARCHIVED}),
        EXPIRED: frozenset({SCHEDULED, PUBLISHED, ARCHIVED}),
        ARCHIVED: frozenset(),
        DISCARDED: frozenset(),
    },
    closed=frozenset({APPROVED, SCHEDULED, PUBLISHED, EXPIRED, ARCHIVED, DISCARDED}),
)

# States whose content may be versioned: what readers saw (or could have seen).
VERSIONABLE = frozenset({PUBLISHED, EXPIRED, ARCHIVED})
