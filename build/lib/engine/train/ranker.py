"""The learned ranker: calibrated purchase probabilities from LightFM scores and history features.

Two model kinds compete: a logistic regression on standardised, log-scaled features, and gradient-boosted
trees. Both output probabilities fitted with log-loss on real label weeks, so their scores are on the
scale the economic guard needs. :func:`select_ranker` fits both on earlier label weeks and keeps the one
that ranks a later week best (hit rate of each member's top picks), with log-loss as tie-breaker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # comes with scikit-learn

from engine.errors import NotFittedError
from engine.train.config import RankerParams
from engine.train.history import MEMBER_IDX
from engine.train.pairs import LABEL

RankerKind = Literal["logistic", "hist_gb"]
KINDS: tuple[RankerKind, ...] = ("logistic", "hist_gb")


def _signed_log(x: np.ndarray) -> np.ndarray:
    # Counts and gaps are heavy-tailed; a log keeps the linear model from being driven by a few members.
    return np.sign(x) * np.log1p(np.abs(x))


class Ranker:
    """One binary classifier over candidate pairs; public :meth:`fit` calls :meth:`_fit`.

    Parameters
    ----------
    kind
        ``logistic`` or ``hist_gb``.
    features
        The feature columns it reads, in order.
    params
        Ranker settings (``[ranker]`` in ``configs/train.toml``).
    negative_rate
        Share of negative pairs kept for fitting; kept negatives weigh ``1 / negative_rate``.
    """

    def __init__(
        self, kind: RankerKind, features: Sequence[str], params: RankerParams, negative_rate: float = 1.0
    ) -> None:
        self.kind = kind
        self.features = tuple(features)
        self.params = params
        self.negative_rate = negative_rate
        self._model: Pipeline | HistGradientBoostingClassifier | None = None

    def _new_model(self) -> Pipeline | HistGradientBoostingClassifier:
        if self.kind == "logistic":
            lr = self.params.logistic
            return make_pipeline(
                SimpleImputer(strategy="median", keep_empty_features=True),
                FunctionTransformer(_signed_log),
                StandardScaler(),
                LogisticRegression(C=lr.C, max_iter=lr.max_iter),
            )
        gb = self.params.hist_gb
        return HistGradientBoostingClassifier(
            max_iter=gb.max_iter,
            learning_rate=gb.learning_rate,
            max_leaf_nodes=gb.max_leaf_nodes,
            min_samples_leaf=gb.min_samples_leaf,
            l2_regularization=gb.l2_regularization,
            early_stopping=False,
            random_state=self.params.random_state,
        )

    def _matrix(self, pairs: pd.DataFrame) -> np.ndarray:
        return pairs.loc[:, list(self.features)].to_numpy(dtype=np.float64)

    def fit(self, pairs: pd.DataFrame) -> Ranker:
        """Fit on labelled pairs (the :data:`~engine.train.pairs.LABEL` column)."""
        y = pairs[LABEL].to_numpy()
        keep = np.ones(len(y), dtype=bool)
        weight = np.ones(len(y))
        if self.negative_rate < 1.0:
            rng = np.random.default_rng(self.params.random_state)
            keep = (y == 1) | (rng.random(len(y)) < self.negative_rate)
            weight[y == 0] = 1.0 / self.negative_rate
        self._fit(self._matrix(pairs)[keep], y[keep], weight[keep])
        return self

    def _fit(self, x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> None:
        model = self._new_model()
        # OpenMP threads spin while waiting: on a shared 2-core machine more threads than free cores made
        # the tree fit 20x slower, so the thread count is a setting.
        with threadpool_limits(limits=self.params.num_threads):
            if isinstance(model, Pipeline):
                model.fit(x, y, logisticregression__sample_weight=weight)
            else:
                model.fit(x, y, sample_weight=weight)
        self._model = model

    def predict_proba(self, pairs: pd.DataFrame) -> np.ndarray:
        """P(label = 1) for each pair."""
        if self._model is None:
            raise NotFittedError(f"Ranker({self.kind}): call fit() before predict_proba()")
        if len(pairs) == 0:
            return np.zeros(0)
        with threadpool_limits(limits=self.params.num_threads):
            proba: np.ndarray = self._model.predict_proba(self._matrix(pairs))[:, 1]
        return proba


def top_k_hit_rate(pairs: pd.DataFrame, score: np.ndarray | pd.Series, k: int, members: np.ndarray) -> float:
    """Mean over ``members`` of the share of their top-``k`` pairs (by ``score``) that were bought.

    Members in ``members`` without any candidate count as 0 (they got no pick to hit).
    """
    if len(members) == 0:
        return float("nan")
    frame = pd.DataFrame(
        {MEMBER_IDX: pairs[MEMBER_IDX].to_numpy(), "s": np.asarray(score), LABEL: pairs[LABEL]}
    )
    frame = frame[frame[MEMBER_IDX].isin(members)].sort_values([MEMBER_IDX, "s"], ascending=[True, False])
    top = frame.groupby(MEMBER_IDX, sort=False).head(k)
    per_member = top.groupby(MEMBER_IDX)[LABEL].sum() / k
    return float(per_member.reindex(members, fill_value=0.0).mean())


@dataclass
class Selection:
    """Which ranker kind won, and the validation metrics of every candidate and baseline."""

    kind: RankerKind
    metrics: dict[str, float] = field(default_factory=dict)


def evaluate(
    name: str, pairs: pd.DataFrame, score: np.ndarray, k: int, members: np.ndarray, with_probability: bool
) -> dict[str, float]:
    """Validation metrics of one scoring: top-``k`` hit rate, and AUC / log-loss for probabilities."""
    out = {f"{name}_hit_at_{k}": top_k_hit_rate(pairs, score, k, members)}
    labels = pairs[LABEL].to_numpy()
    if with_probability and 0 < labels.sum() < len(labels):
        out[f"{name}_auc"] = float(roc_auc_score(labels, score))
        out[f"{name}_log_loss"] = float(log_loss(labels, np.clip(score, 1e-7, 1 - 1e-7)))
        out[f"{name}_mean_score_over_rate"] = float(np.mean(score) / labels.mean())
    return out


def select_ranker(
    prefix: str,
    features: Sequence[str],
    train: pd.DataFrame,
    valid: pd.DataFrame,
    valid_members: np.ndarray,
    k: int,
    params: RankerParams,
    kind: RankerKind | Literal["auto"],
    baselines: dict[str, np.ndarray],
    negative_rate: float = 1.0,
) -> Selection:
    """Fit each candidate kind on ``train``, score ``valid``, keep the best by top-``k`` hit rate.

    Parameters
    ----------
    prefix
        ``habitual`` or ``stretch``; metric names start with it.
    kind
        ``auto`` compares every kind; otherwise only that kind is fitted (its metrics still reported).
    baselines
        Named baseline scores for ``valid`` (for instance personal frequency), reported beside the models.
    """
    kinds: tuple[RankerKind, ...] = KINDS if kind == "auto" else (kind,)
    metrics: dict[str, float] = {}
    for name, score in baselines.items():
        metrics.update(evaluate(f"{prefix}_baseline_{name}", valid, score, k, valid_members, False))
    results: list[tuple[float, float, RankerKind]] = []
    for kind in kinds:
        proba = Ranker(kind, features, params, negative_rate).fit(train).predict_proba(valid)
        m = evaluate(f"{prefix}_{kind}", valid, proba, k, valid_members, True)
        metrics.update(m)
        results.append((m[f"{prefix}_{kind}_hit_at_{k}"], -m.get(f"{prefix}_{kind}_log_loss", 0.0), kind))
    best = max(results)[2]
    return Selection(best, metrics)
