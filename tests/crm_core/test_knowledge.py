"""Knowledge articles as authors, reviewers and agents use them: the lifecycle, who sees unpublished
articles, versions, full-text search on both databases, links to cases and insertion into an email."""

import re
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.services import knowledge_search
from crm_core.services.knowledge import apply_schedule
from tests.api import created, problem
from tests.conftest import BACKEND
from tests.org import OrgBuilder, TestUser

API = "/api/v1"
KA = f"{API}/knowledge-articles"


def _article(client, user: TestUser, title: str, **extra) -> dict:
    return created(client, user, "knowledge-articles", {"title": title, **extra})


def _post(client, user: TestUser, path: str, body: dict | None = None, status: int = 200) -> dict:
    r = client.post(f"{KA}/{path}", json=body, headers=user.headers)
    assert r.status_code == status, r.text
    return r.json() if r.content else {}


def _published(client, user: TestUser, title: str, **extra) -> dict:
    article = _article(client, user, title, **extra)
    _post(client, user, f"{article['id']}/approve")
    return _post(client, user, f"{article['id']}/publish")


def _search(client, user: TestUser, q: str, **params) -> list[str]:
    r = client.get(f"{KA}/search", params={"q": q, **params}, headers=user.headers)
    assert r.status_code == 200, r.text
    return [hit["title"] for hit in r.json()["items"]]


# --- records and lifecycle -------------------------------------------------------------------------

def test_a_new_article_is_a_numbered_draft_with_tidy_keywords(client, admin: TestUser) -> None:
    subject = created(client, admin, "subjects", {"title": "Loans"})
    article = _article(client, admin, "  Mortgage rates  ", content="# Rates\nFixed or variable.",
                       keywords=["mortgage", " fixed  rate ", "Mortgage", ""], subject_id=subject["id"],
                       language_code="en-GB")
    assert re.fullmatch(r"KA-\d{5}-[A-Z0-9]{6}", article["article_public_number"])
    assert (article["title"], article["version"], article["is_latest_version"]) == ("Mortgage rates", "1.0", True)
    assert (article["state"], article["status"]) == ("Draft", "Draft")
    assert article["keywords"] == ["mortgage", "fixed rate"]
    assert article["content"] == "# Rates\nFixed or variable."  # stored as given (Markdown)
    other = _article(client, admin, "Savings")
    assert other["article_public_number"] != article["article_public_number"]

    problem(client.post(KA, json={"title": "x", "subject_id": str(uuid.uuid4())}, headers=admin.headers),
            422, "subject_id")
    problem(client.post(KA, json={"title": "x", "language_code": "english please"}, headers=admin.headers),
            422, "language_code")
    problem(client.post(KA, json={"title": "x", "keywords": ["a,b"]}, headers=admin.headers), 422, "keywords[0]")
    problem(client.post(KA, json={"title": "x", "publish_on": "2030-01-02T00:00:00Z",
                                  "expiration_date": "2030-01-01T00:00:00Z"}, headers=admin.headers),
            422, "expiration_date")


def test_draft_review_approve_publish_expire_archive(client, admin: TestUser) -> None:
    article = _article(client, admin, "Reset a PIN")
    aid = article["id"]
    problem(client.post(f"{KA}/{aid}/publish", headers=admin.headers), 409)  # approve first
    assert _post(client, admin, f"{aid}/review")["status"] == "In review"
    assert client.patch(f"{KA}/{aid}", json={"content": "Call us."}, headers=admin.headers).status_code == 200
    assert _post(client, admin, f"{aid}/reject")["status"] == "Draft"
    approved = _post(client, admin, f"{aid}/approve")
    assert (approved["statecode"], approved["state"]) == (1, "Approved")
    # Approved and later are read-only: updates go through a new version.
    p = problem(client.patch(f"{KA}/{aid}", json={"title": "Changed"}, headers=admin.headers), 409)
    assert "new-version" in p["detail"]
    published = _post(client, admin, f"{aid}/publish")
    assert (published["state"], published["status"]) == ("Published", "Published")
    assert published["publish_on"] is not None
    problem(client.post(f"{KA}/{aid}/publish", headers=admin.headers), 409)
    problem(client.post(f"{KA}/{aid}/discard", headers=admin.headers), 409)
    assert _post(client, admin, f"{aid}/expire")["state"] == "Expired"
    assert _post(client, admin, f"{aid}/archive")["state"] == "Archived"
    problem(client.post(f"{KA}/{aid}/publish", headers=admin.headers), 409)  # archived is final
    problem(client.post(f"{KA}/{aid}/set-state", json={"statecode": 0}, headers=admin.headers), 409)

    draft = _article(client, admin, "Obsolete")
    assert _post(client, admin, f"{draft['id']}/discard")["state"] == "Discarded"
    trail = client.get(f"{KA}/{aid}/audit", headers=admin.headers).json()
    assert [e["action"] for e in reversed(trail)] == [
        "create", "review", "update", "reject", "approve", "publish", "expire", "archive"]


def test_set_state_does_not_publish_behind_the_publish_action(client, admin: TestUser) -> None:
    article = _article(client, admin, "Wire transfers")
    _post(client, admin, f"{article['id']}/approve")
    for state in (2, 3):
        problem(client.post(f"{KA}/{article['id']}/set-state", json={"statecode": state}, headers=admin.headers),
                422, "statecode")
    # A status change within Published is fine.
    _post(client, admin, f"{article['id']}/publish")
    r = _post(client, admin, f"{article['id']}/set-state", {"statecode": 3, "statuscode": 8})
    assert r["status"] == "Needs review"


def test_scheduled_articles_publish_at_publish_on_and_expire(client, org: OrgBuilder, session_factory) -> None:
    admin = org.admin()
    reader = org.user("reader@example.com", ["Salesperson"], org.unit("Elsewhere"))
    soon = datetime.now(UTC) + timedelta(days=2)
    article = _article(client, admin, "New card fees", expiration_date=(soon + timedelta(days=30)).isoformat())
    _post(client, admin, f"{article['id']}/approve")
    problem(client.post(f"{KA}/{article['id']}/publish", json={"publish_on": "2999-01-01T00:00:00Z"},
                        headers=admin.headers), 422, "expiration_date")
    scheduled = _post(client, admin, f"{article['id']}/publish", {"publish_on": soon.isoformat()})
    assert (scheduled["state"], scheduled["status"]) == ("Scheduled", "Scheduled")
    assert client.get(f"{KA}/{article['id']}", headers=reader.headers).status_code == 404

    with UnitOfWork(session_factory) as uow:
        assert apply_schedule(uow, now=soon - timedelta(minutes=1)) == (0, 0)
    with UnitOfWork(session_factory) as uow:
        assert apply_schedule(uow, now=soon + timedelta(minutes=1)) == (1, 0)
    assert client.get(f"{KA}/{article['id']}", headers=reader.headers).json()["state"] == "Published"
    with UnitOfWork(session_factory) as uow:
        assert apply_schedule(uow, now=soon + timedelta(days=31)) == (0, 1)
    assert client.get(f"{KA}/{article['id']}", headers=admin.headers).json()["state"] == "Expired"
    assert client.get(f"{KA}/{article['id']}", headers=reader.headers).status_code == 404


# --- who sees unpublished articles -----------------------------------------------------------------

def test_unpublished_articles_are_seen_only_by_those_who_may_change_them(client, org: OrgBuilder) -> None:
    admin = org.admin()
    service = org.unit("Service")
    author = org.user("author@example.com", ["Customer Service Representative"], service)
    colleague = org.user("colleague@example.com", ["Customer Service Representative"], service)
    manager = org.user("manager@example.com", ["Sales Manager"], service)
    outsider = org.user("outsider@example.com", ["Salesperson"], org.unit("Sales"))
    draft = _article(client, author, "Lost card procedure", content="Block the card at once.")

    def sees(user: TestUser) -> bool:
        got = client.get(f"{KA}/{draft['id']}", headers=user.headers).status_code == 200
        listed = [a["id"] for a in client.get(KA, headers=user.headers).json()["items"]]
        assert got == (draft["id"] in listed)
        return got

    assert [sees(u) for u in (author, colleague, manager, outsider, admin)] == [True, False, True, False, True]
    assert _search(client, author, "card", statecode=0) == ["Lost card procedure"]
    assert _search(client, colleague, "card", statecode=0) == []
    assert _search(client, author, "card") == []  # search finds published articles unless asked otherwise
    problem(client.patch(f"{KA}/{draft['id']}", json={"title": "Mine"}, headers=colleague.headers), 404)

    _post(client, admin, f"{draft['id']}/approve")
    _post(client, admin, f"{draft['id']}/publish")
    assert [sees(u) for u in (author, colleague, manager, outsider, admin)] == [True] * 5
    assert _search(client, outsider, "card") == ["Lost card procedure"]
    # Reading is not changing: the outsider still cannot touch it.
    problem(client.post(f"{KA}/{draft['id']}/archive", headers=outsider.headers), 403)


# --- versions --------------------------------------------------------------------------------------

def test_new_versions_keep_the_root_and_replace_it_when_published(client, admin: TestUser) -> None:
    root = _published(client, admin, "Opening hours", content="9 to 5", keywords=["hours"])
    draft = _article(client, admin, "Draft only")
    problem(client.post(f"{KA}/{draft['id']}/new-version", headers=admin.headers), 409)  # change the draft itself
    minor = _post(client, admin, f"{root['id']}/new-version", status=201)
    assert (minor["version"], minor["state"], minor["root_article_id"], minor["parent_article_content_id"]) == (
        "1.1", "Draft", root["id"], root["id"])
    assert (minor["article_public_number"], minor["content"], minor["keywords"]) == (
        root["article_public_number"], "9 to 5", ["hours"])
    kept = client.get(f"{KA}/{root['id']}", headers=admin.headers).json()
    assert (kept["state"], kept["is_latest_version"], kept["content"]) == ("Published", False, "9 to 5")
    problem(client.post(f"{KA}/{root['id']}/new-version", headers=admin.headers), 409)  # not the latest

    # Deleting the new draft gives "latest" back; making it again and publishing it archives the root.
    assert client.delete(f"{KA}/{minor['id']}", headers=admin.headers).status_code == 204
    assert client.get(f"{KA}/{root['id']}", headers=admin.headers).json()["is_latest_version"] is True
    minor = _post(client, admin, f"{root['id']}/new-version", status=201)
    client.patch(f"{KA}/{minor['id']}", json={"content": "8 to 6"}, headers=admin.headers)
    _post(client, admin, f"{minor['id']}/approve")
    _post(client, admin, f"{minor['id']}/publish")
    assert client.get(f"{KA}/{root['id']}", headers=admin.headers).json()["state"] == "Archived"
    assert _search(client, admin, "opening") == ["Opening hours"]  # one published version

    major = _post(client, admin, f"{minor['id']}/new-version", {"major": True}, status=201)
    assert (major["version"], major["root_article_id"], major["parent_article_content_id"]) == (
        "2.0", root["id"], minor["id"])
    family = client.get(KA, params={"article_public_number": root["article_public_number"]},
                        headers=admin.headers).json()["items"]
    assert sorted(a["version"] for a in family) == ["1.0", "1.1", "2.0"]
    problem(client.delete(f"{KA}/{root['id']}", headers=admin.headers), 409)  # later versions exist


# --- search ----------------------------------------------------------------------------------------

def test_search_ranks_title_over_keywords_over_content(client, admin: TestUser) -> None:
    _published(client, admin, "Savings accounts", content="Unlike a mortgage, savings earn interest.")
    _published(client, admin, "Rates of the year", keywords=["mortgage", "rates"])
    _published(client, admin, "Mortgage basics", content="What a loan is.")
    _published(client, admin, "Car insurance", content="Nothing about homes.")
    assert _search(client, admin, "mortgage") == ["Mortgage basics", "Rates of the year", "Savings accounts"]
    assert _search(client, admin, "MORTGAGES") == []  # every word must begin a word of the article
    assert _search(client, admin, "mortg") == ["Mortgage basics", "Rates of the year", "Savings accounts"]
    assert _search(client, admin, "ortgage") == []  # words, not substrings
    assert _search(client, admin, "mortgage interest") == ["Savings accounts"]  # all words
    assert _search(client, admin, "mortgage", limit=1) == ["Mortgage basics"]
    hits = client.get(f"{KA}/search", params={"q": "mortgage"}, headers=admin.headers).json()["items"]
    assert hits[0]["rank"] > hits[1]["rank"] > hits[2]["rank"] > 0


def test_search_finds_words_of_every_script_in_any_case(client, admin: TestUser) -> None:
    _published(client, admin, "Überweisung ins Ausland", content="Gebühren für Überweisungen", language_code="de")
    _published(client, admin, "Кредитная карта", content="Как заблокировать карту", language_code="ru")
    _published(client, admin, "銀行口座の開設", keywords=["口座"], language_code="ja")
    _published(client, admin, "Ελληνικά ΕΓΓΡΑΦΑ", language_code="el")
    assert _search(client, admin, "überweisung") == ["Überweisung ins Ausland"]
    assert _search(client, admin, "ÜBERWEISUNGEN") == ["Überweisung ins Ausland"]
    assert _search(client, admin, "gebühren überw") == ["Überweisung ins Ausland"]
    assert _search(client, admin, "карт".upper()) == ["Кредитная карта"]
    assert _search(client, admin, "銀行口座") == ["銀行口座の開設"]
    assert _search(client, admin, "口座") == ["銀行口座の開設"]
    assert _search(client, admin, "εγγραφα ελληνικά") == ["Ελληνικά ΕΓΓΡΑΦΑ"]
    assert _search(client, admin, "έγγραφα") == []  # accents count: έ is not ε
    assert _search(client, admin, "kredit") == []
    # The same word typed with a combining diaeresis ("u" + U+0308) is the same word.
    decomposed = unicodedata.normalize("NFD", "Zahlungsübersicht")
    assert _published(client, admin, decomposed)["title"] == "Zahlungsübersicht"
    assert _search(client, admin, "zahlungsübersicht") == ["Zahlungsübersicht"]
    assert _search(client, admin, unicodedata.normalize("NFD", "ZAHLUNGSÜBER")) == ["Zahlungsübersicht"]
    assert _search(client, admin, "карта", language_code="de") == []
    assert _search(client, admin, "карта", language_code="ru") == ["Кредитная карта"]


@pytest.mark.skipif(BACKEND != "postgresql", reason="the GIN index is PostgreSQL's; SQLite uses the LIKE fallback")
def test_postgresql_search_is_served_by_the_gin_index(session_factory) -> None:
    from sqlalchemy import text
    from sqlalchemy.dialects import postgresql

    stmt = knowledge_search.postgresql_statement([], ["mortgage", "rate"], 20)
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    with session_factory() as session:
        session.execute(text("SET LOCAL enable_seqscan = off"))  # the table is tiny: make the planner show it
        plan = "\n".join(session.scalars(text(f"EXPLAIN {sql}")))
    assert "ix_knowledge_articles_search_vector" in plan, plan


def test_search_follows_changes_and_refuses_empty_queries(client, admin: TestUser) -> None:
    draft = _article(client, admin, "Branch opening times", content="Monday to Friday")
    assert _search(client, admin, "monday", statecode=0) == ["Branch opening times"]
    client.patch(f"{KA}/{draft['id']}", json={"title": "Branch hours", "content": "Weekends too"},
                 headers=admin.headers)
    assert _search(client, admin, "monday", statecode=0) == []
    assert _search(client, admin, "weekends hours", statecode=0) == ["Branch hours"]
    problem(client.get(f"{KA}/search", params={"q": "?!  -- _"}, headers=admin.headers), 422, "q")
    problem(client.get(f"{KA}/search", params={"q": "x", "statecode": 42}, headers=admin.headers), 422, "statecode")
    problem(client.get(f"{KA}/search", params={"q": " ".join(f"w{i}" for i in range(20))}, headers=admin.headers),
            422, "q")
    # Input a database chokes on is a 4xx, never a 500.
    assert client.get(f"{KA}/search", params={"q": "a\x00b"}, headers=admin.headers).status_code == 200
    r = client.get(f"{KA}/search", params={"q": "branch", "language_code": "e\x00n"}, headers=admin.headers)
    assert r.status_code in (200, 422), r.text
    problem(client.post(KA, json={"title": "t", "keywords": ["a\x00"]}, headers=admin.headers), 422, "keywords")


# --- using articles: emails and cases --------------------------------------------------------------

def test_a_published_article_as_email_text(client, admin: TestUser) -> None:
    article = _published(client, admin, "Change your address", content="Go to Settings, then Profile.\n")
    r = client.get(f"{KA}/{article['id']}/as-email", headers=admin.headers)
    assert r.status_code == 200, r.text
    mail = r.json()
    assert mail["subject"] == "Change your address"
    assert mail["body"].startswith("Change your address\n\nGo to Settings, then Profile.\n\n")
    assert article["article_public_number"] in mail["body"]
    draft = _article(client, admin, "Not yet")
    problem(client.get(f"{KA}/{draft['id']}/as-email", headers=admin.headers), 409)


@pytest.fixture
def case(client, admin: TestUser) -> dict:
    account = created(client, admin, "accounts", {"name": "Contoso"})
    return created(client, admin, "cases", {"title": "Card blocked", "customer_type": "account",
                                            "customer_id": account["id"]})


def test_link_articles_to_cases(client, org: OrgBuilder, admin: TestUser, case: dict) -> None:
    article = _published(client, admin, "Unblock a card")
    url = f"{KA}/{article['id']}/cases/{case['id']}"
    assert client.post(url, headers=admin.headers).status_code == 204
    problem(client.post(url, headers=admin.headers), 409)
    linked = client.get(f"{KA}/{article['id']}/cases", headers=admin.headers).json()
    assert [(c["id"], c["case_number"]) for c in linked] == [(case["id"], case["case_number"])]
    on_case = client.get(f"{API}/cases/{case['id']}/knowledge-articles", headers=admin.headers).json()
    assert [a["id"] for a in on_case] == [article["id"]]
    trail = client.get(f"{KA}/{article['id']}/audit", headers=admin.headers).json()
    assert trail[0]["action"] == "link_case"
    assert trail[0]["changes"]["cases"] == [[], [case["id"]]]

    draft = _article(client, admin, "Draft help")
    problem(client.post(f"{KA}/{draft['id']}/cases/{case['id']}", headers=admin.headers), 409)
    problem(client.post(f"{KA}/{article['id']}/cases/{uuid.uuid4()}", headers=admin.headers), 404)
    # A user who cannot read the case does not learn it exists.
    outsider = org.user("outsider@example.com", ["Salesperson"], org.unit("Sales"))
    problem(client.post(url, headers=outsider.headers), 404)
    assert client.get(f"{KA}/{article['id']}/cases", headers=outsider.headers).json() == []

    assert client.delete(url, headers=admin.headers).status_code == 204
    problem(client.delete(url, headers=admin.headers), 404)
    assert client.get(f"{KA}/{article['id']}/cases", headers=admin.headers).json() == []
    # A canceled case is read-only: no new links until it is reactivated.
    assert client.post(f"{API}/cases/{case['id']}/cancel", headers=admin.headers).status_code == 200
    problem(client.post(url, headers=admin.headers), 409)


def test_deleting_a_case_drops_its_article_links(client, admin: TestUser, case: dict) -> None:
    article = _published(client, admin, "Card limits")
    assert client.post(f"{KA}/{article['id']}/cases/{case['id']}", headers=admin.headers).status_code == 204
    assert client.delete(f"{API}/cases/{case['id']}", headers=admin.headers).status_code == 204
    assert client.get(f"{KA}/{article['id']}/cases", headers=admin.headers).json() == []
