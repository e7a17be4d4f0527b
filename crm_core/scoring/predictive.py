"""The predictive score, with scikit-learn: one-hot categories and scaled counts into a logistic regression,
trained on the organisation's qualified (won) and disqualified (lost) leads.

Logistic regression because its probabilities are calibrated by its own loss (a score of 70 means about 7 in
10 such leads were qualified) and because it explains itself: each input adds `coefficient x (value - the
average lead's value)` to the log-odds, so a lead's factors are exact, not approximated. A factor is shown in
score points: how far that input alone moves the average lead's score ("Lead source: Web (+12)").

Before the model is kept, a quarter of the history (stratified) is held out and the ROC AUC on it measured:
0.5 is chance, 1.0 a perfect ranking. The kept model is then refitted on the whole history.

Only this module touches scikit-learn; the stored bytes are joblib's pickle of what `_Payload` holds, read
back only from our own database."""

import io
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from crm_core.errors import Conflict
from crm_core.scoring import features
from crm_core.scoring.rule_language import DEFAULT_GRADES, grade_of
from crm_core.scoring.rule_scoring import Scored

ALGORITHM = "logistic regression (one-hot categories, scaled log counts)"
HOLDOUT_SHARE = 0.25
TOP_FACTORS = 3


@dataclass(frozen=True)
class Trained:
    content: bytes
    won_count: int
    lost_count: int
    holdout_count: int
    holdout_auc: float
    importances: list[dict[str, Any]]
    algorithm: str = ALGORITHM
    library_version: str = sklearn.__version__


@dataclass
class _Payload:
    pipeline: Pipeline
    baseline: np.ndarray  # the average training lead, transformed: contributions are measured from it
    groups: list[str]  # for each transformed column, the input (features.COLUMNS) it came from


def _pipeline(seed: int) -> Pipeline:
    n_cat = len(features.CATEGORIES)
    columns = ColumnTransformer(
        [
            ("category", OneHotEncoder(handle_unknown="ignore", sparse_output=False), list(range(n_cat))),
            ("count", StandardScaler(), list(range(n_cat, len(features.COLUMNS)))),
        ]
    )
    return Pipeline([("columns", columns), ("model", LogisticRegression(C=1.0, max_iter=2000, random_state=seed))])


def _matrix(rows: list[features.Row]) -> np.ndarray:
    return np.array([r.values for r in rows], dtype=object)


def train(rows: list[features.Row], won: list[bool], min_per_class: int, seed: int = 0) -> Trained:
    """A fitted model and its held-out AUC; Conflict when the history is too thin to learn from."""
    n_won, n_lost = sum(won), len(won) - sum(won)
    if n_won < min_per_class or n_lost < min_per_class:
        raise Conflict(
            f"not enough history to train the predictive score: {n_won} qualified and {n_lost} disqualified "
            f"leads; it needs at least {min_per_class} of each (CRM_LEAD_SCORING_MIN_PER_CLASS)",
            won=n_won,
            lost=n_lost,
            needed=min_per_class,
        )
    x, y = _matrix(rows), np.array(won, dtype=int)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=HOLDOUT_SHARE, stratify=y, random_state=seed)
    auc = float(roc_auc_score(y_test, _pipeline(seed).fit(x_train, y_train).predict_proba(x_test)[:, 1]))
    pipeline = _pipeline(seed).fit(x, y)
    payload = _payload(pipeline, x)
    buffer = io.BytesIO()
    joblib.dump(payload, buffer)
    return Trained(buffer.getvalue(), n_won, n_lost, len(y_test), auc, _importances(payload, x))


def _payload(pipeline: Pipeline, x: np.ndarray) -> _Payload:
    transformed = pipeline.named_steps["columns"].transform(x)
    groups = []
    for name in pipeline.named_steps["columns"].get_feature_names_out():
        kind, _, rest = name.partition("__")
        if kind == "category":  # OneHotEncoder names its columns x<index>_<category>
            groups.append(features.CATEGORIES[int(rest[1:].split("_", 1)[0])])
        else:
            groups.append(features.COLUMNS[int(rest[1:])])
    return _Payload(pipeline, np.asarray(transformed, dtype=float).mean(axis=0), groups)


def _contributions(payload: _Payload, x: np.ndarray) -> tuple[np.ndarray, float]:
    """Per lead and input, what it adds to the log-odds against the average lead; and the average's log-odds."""
    model: LogisticRegression = payload.pipeline.named_steps["model"]
    transformed = np.asarray(payload.pipeline.named_steps["columns"].transform(x), dtype=float)
    coef = model.coef_[0]
    per_column = (transformed - payload.baseline) * coef
    by_input = np.zeros((len(x), len(features.COLUMNS)))
    for j, group in enumerate(payload.groups):
        by_input[:, features.COLUMNS.index(group)] += per_column[:, j]
    base = float(model.intercept_[0] + payload.baseline @ coef)
    return by_input, base


def _importances(payload: _Payload, x: np.ndarray) -> list[dict[str, Any]]:
    """Each input's share of the model's say over the training leads (mean |contribution|), largest first."""
    by_input, _ = _contributions(payload, x)
    weight = np.abs(by_input).mean(axis=0)
    total = float(weight.sum()) or 1.0
    ranked = sorted(zip(features.COLUMNS, weight, strict=True), key=lambda p: -p[1])
    return [
        {"feature": name, "label": features.LABELS[name], "weight": round(float(w) / total, 4)} for name, w in ranked
    ]


def _sigmoid(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-z)))


class Predictor:
    """A stored model, loaded once per refresh run, scoring and explaining leads."""

    def __init__(self, content: bytes) -> None:
        self.payload: _Payload = joblib.load(io.BytesIO(content))

    def score(self, rows: list[features.Row]) -> list[Scored]:
        if not rows:
            return []
        x = _matrix(rows)
        probabilities = self.payload.pipeline.predict_proba(x)[:, 1]
        by_input, base = _contributions(self.payload, x)
        average = _sigmoid(base)
        out = []
        for i, r in enumerate(rows):
            score = round(100 * float(probabilities[i]))
            points = [
                (name, round(100 * (_sigmoid(base + by_input[i, k]) - average)))
                for k, name in enumerate(features.COLUMNS)
            ]
            up = sorted((p for p in points if p[1] > 0), key=lambda p: -p[1])[:TOP_FACTORS]
            down = sorted((p for p in points if p[1] < 0), key=lambda p: p[1])[:TOP_FACTORS]
            factors = [
                {"feature": name, "label": features.factor_label(name, r.shown[name]), "points": pts}
                for name, pts in (*up, *down)
            ]
            out.append(Scored(score, grade_of(score, DEFAULT_GRADES), factors))
        return out
