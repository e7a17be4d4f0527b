"""Full-text search of knowledge articles over title, keywords and content, ranked, on both databases.

Both backends take the same query: the words of `q` (letters and digits of any script, lower-cased), each
of which must begin a word of the article (so "mortgag" finds "mortgages"). A hit in the title counts most,
then keywords, then content. Matching ignores case in every script but not accents ("resume" does not find
"résumé"), and there is no stemming: articles come in many languages, and one dictionary would serve one.
(One difference remains: PostgreSQL's parser keeps an email address, a host or a file name as one word, so
"example" does not find "info@example.com" there, while the fallback splits it.)

PostgreSQL: `knowledge_articles.search_vector` holds to_tsvector('simple', ...) of title (weight A),
keywords (B) and content (C), kept in step by `refresh_vector` after every write of the knowledge service,
with a GIN index; a query is `word:* & word:*`, ranked by ts_rank (weights A 1.0, B 0.4, C 0.2).

SQLite fallback, documented in docs/service-catalog.md: SQLite has no tsvector, and an FTS5 table would put
five shadow tables beside the models that Alembic's drift check would want to drop; so the search narrows
the visible articles with LIKE (a condition per word on title, keywords and content; SQLite's LIKE folds
ASCII case only, so non-ASCII letters of the word are wildcards there) and ranks what remains in Python,
with the same rules and weights. It reads every visible article whose text matches, which suits the small
knowledge bases a SQLite installation holds; PostgreSQL serves the large ones from the index."""

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, literal_column, or_, select, update
from sqlalchemy.orm import Session

from crm_core.errors import ValidationFailed
from crm_core.models import KnowledgeArticle

_WORD = re.compile(r"[^\W_]+")  # PostgreSQL's parser splits on "_" too
_CONFIG = literal_column("'simple'::regconfig")
WEIGHTS = {"title": 1.0, "keywords": 0.4, "content": 0.2}  # ts_rank's defaults for A, B and C
MAX_TERMS = 16
MAX_TERM_LENGTH = 100


@dataclass(frozen=True)
class Hit:
    article: KnowledgeArticle
    rank: float


def nfc(text: str) -> str:
    """Text in one Unicode form (composed: "ü" one character, not "u" and a diaeresis), so that the same
    word is the same characters in an article and in a query, for PostgreSQL and for LIKE alike."""
    return unicodedata.normalize("NFC", text)


def terms(q: str) -> list[str]:
    """The words to look for, lower-cased, each once, in order."""
    words: list[str] = []
    for word in _WORD.findall(nfc(q).lower()):
        if word not in words:
            words.append(word)
    if not words:
        raise ValidationFailed.field("q", "give at least one word to search for")
    if len(words) > MAX_TERMS:
        raise ValidationFailed.field("q", f"at most {MAX_TERMS} words")
    if any(len(w) > MAX_TERM_LENGTH for w in words):
        raise ValidationFailed.field("q", f"words of at most {MAX_TERM_LENGTH} characters")
    return words


def refresh_vector(session: Session, article: KnowledgeArticle) -> None:
    """Recomputes the article's search vector (PostgreSQL; SQLite has none). Call after the flush."""
    if session.get_bind().dialect.name != "postgresql":
        return
    table = KnowledgeArticle.__table__

    def weighted(text: str | None, weight: str) -> ColumnElement[object]:
        return func.setweight(func.to_tsvector(_CONFIG, text or ""), literal_column(f"'{weight}'"))

    vector = weighted(article.title, "A").op("||")(weighted(article.keywords, "B")).op("||")(
        weighted(article.content, "C"))
    # modified_on named as it is, or its onupdate would move it past what the ORM just wrote.
    session.execute(update(table).where(table.c.id == article.id)
                    .values(search_vector=vector, modified_on=table.c.modified_on))


def search(session: Session, conditions: Sequence[ColumnElement[bool]], words: list[str], limit: int) -> list[Hit]:
    """The best `limit` articles meeting `conditions` (the caller's visibility and filters) for `words`."""
    if session.get_bind().dialect.name == "postgresql":
        return _search_postgresql(session, conditions, words, limit)
    return _search_like(session, conditions, words, limit)


def postgresql_statement(conditions: Sequence[ColumnElement[bool]], words: list[str],
                         limit: int) -> Select[tuple[KnowledgeArticle, float]]:
    """The ranked query; its `search_vector @@ query` condition is what the GIN index serves."""
    # Words hold letters and digits only, so they cannot carry tsquery syntax.
    query = func.to_tsquery(_CONFIG, " & ".join(f"{w}:*" for w in words))
    vector = KnowledgeArticle.__table__.c.search_vector
    rank = func.ts_rank(vector, query).label("rank")
    return (
        select(KnowledgeArticle, rank).where(*conditions, vector.op("@@")(query))
        .order_by(rank.desc(), KnowledgeArticle.title, KnowledgeArticle.id).limit(limit)
    )


def _search_postgresql(session: Session, conditions: Sequence[ColumnElement[bool]], words: list[str],
                       limit: int) -> list[Hit]:
    stmt = postgresql_statement(conditions, words, limit)
    return [Hit(article, float(score)) for article, score in session.execute(stmt)]


def _search_like(session: Session, conditions: Sequence[ColumnElement[bool]], words: list[str],
                 limit: int) -> list[Hit]:
    narrowed = list(conditions)
    for word in words:
        # Words hold no % or _, so they need no escaping; a non-ASCII letter matches any one character.
        pattern = "%" + "".join(c if c.isascii() else "_" for c in word) + "%"
        narrowed.append(or_(KnowledgeArticle.title.like(pattern), KnowledgeArticle.keywords.like(pattern),
                            KnowledgeArticle.content.like(pattern)))
    hits = []
    for article in session.scalars(select(KnowledgeArticle).where(*narrowed)):
        score = _score(article, words)
        if score:
            hits.append(Hit(article, score))
    hits.sort(key=lambda h: (-h.rank, h.article.title, h.article.id))
    return hits[:limit]


def _score(article: KnowledgeArticle, words: list[str]) -> float:
    """Like ts_rank without its normalisation: weighted count of the article's words each query word begins;
    0 unless every query word begins at least one of them."""
    fields = {name: _WORD.findall((getattr(article, name) or "").lower()) for name in WEIGHTS}
    total = 0.0
    for word in words:
        found = sum(weight * sum(1 for w in fields[name] if w.startswith(word)) for name, weight in WEIGHTS.items())
        if not found:
            return 0.0
        total += found
    return total
