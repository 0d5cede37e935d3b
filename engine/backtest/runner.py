"""The backtest loop: global temporal split, every policy through the same rules, measured on the window.

For each cutoff ``c``:

1. the training slice is ``dataset.before_week(c)`` with tiers re-derived as of ``c`` (no later spend);
2. the model's artifact is built from it, and each baseline swaps its own habitual or stretch table into
   that artifact (habitual baselines keep the model's stretch list, stretch baselines the model's
   habitual list, so each comparison isolates one kind of pick; the shared tables are the model's);
3. every policy's artifact goes through :func:`engine.challenge.assemble_batch` for week ``c``;
4. the challenges are measured on weeks ``c .. c + w - 1`` for each window ``w``, over members active
   before ``c`` and seen in the window. Ranking uses each policy's full candidate lists;
   ``stretch_top1_adoption`` also measures each policy's stretch ranking alone, before the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from engine.artifact import CandidateArtifact
from engine.backtest.baselines import (
    cooc_stretch,
    decayed_habitual,
    popular_stretch,
    random_stretch,
    replace_candidates,
    topfreq_habitual,
)
from engine.backtest.challenges import challenge_table
from engine.backtest.config import BacktestConfig
from engine.backtest.history import category_stats, with_category
from engine.backtest.metrics import (
    member_outcomes,
    members_in_scope,
    no_offer_reasons,
    ranking_outcomes,
    summarize,
)
from engine.backtest.tracking import BacktestTracker, NullTracker
from engine.challenge import assemble_batch
from engine.data.schema import WEEK, Dataset
from engine.data.tiers import TiersConfig, with_tiers_as_of
from engine.errors import ConfigError
from engine.rules.config import RulesConfig
from engine.train.config import TrainConfig

#: Builds the model's candidate artifact from a training slice for a cutoff (TRAIN's build_candidates).
ModelBuilder = Callable[[Dataset, int], CandidateArtifact]


@dataclass(frozen=True)
class BacktestResult:
    """Everything measured, as long frames (see :mod:`engine.backtest.analysis`)."""

    summaries: pd.DataFrame
    outcomes: pd.DataFrame
    reasons: pd.DataFrame
    cutoffs: list[int]
    windows: list[int]
    policies: list[str]
    run_id: str | None = None


def training_slice(dataset: Dataset, cutoff: int, tiers: TiersConfig) -> Dataset:
    """Transactions strictly before ``cutoff``, with tiers as they stood at ``cutoff``."""
    return with_tiers_as_of(dataset.before_week(cutoff), cutoff, tiers)


def policy_artifacts(
    train: Dataset,
    cutoff: int,
    model: CandidateArtifact,
    policies: list[str],
    train_config: TrainConfig,
    random_seed: int,
) -> dict[str, CandidateArtifact]:
    """Each policy's artifact for ``cutoff``, built from ``train`` (weeks < cutoff) and the model's.

    Baselines use the model's candidate-list sizes and history windows from ``train_config``.
    """
    cand, feats = train_config.candidates, train_config.features
    tx, catalog = train.transactions, train.catalog
    out: dict[str, CandidateArtifact] = {}
    stats = None
    for policy in policies:
        name = f"baseline-{policy}-w{cutoff}"
        if policy == "model":
            out[policy] = model
        elif policy == "topfreq":
            table = topfreq_habitual(
                tx, catalog, cutoff, k=cand.k_habitual, min_baskets=cand.min_baskets_habitual
            )
            out[policy] = replace_candidates(model, catalog, name=name, habitual=table)
        elif policy == "decayed":
            table = decayed_habitual(
                tx,
                catalog,
                cutoff,
                k=cand.k_habitual,
                min_baskets=cand.min_baskets_habitual,
                half_life_weeks=feats.decay_half_life_weeks,
            )
            out[policy] = replace_candidates(model, catalog, name=name, habitual=table)
        else:
            if stats is None:
                stats = category_stats(with_category(tx, catalog), cutoff, feats.popularity_weeks)
            if policy == "popular":
                table = popular_stretch(stats, catalog, k=cand.k_stretch)
            elif policy == "cooc":
                table = cooc_stretch(stats, catalog, k=cand.k_stretch)
            elif policy == "random":
                table = random_stretch(stats, catalog, k=cand.k_stretch, seed=random_seed + cutoff)
            else:
                raise ConfigError(f"unknown backtest policy {policy!r}")
            out[policy] = replace_candidates(model, catalog, name=name, stretch=table)
    return out


def check_calendar(dataset: Dataset, cutoffs: list[int], windows: list[int]) -> None:
    """Every cutoff needs history before it and every window must end inside the data."""
    first, last = int(dataset.transactions[WEEK].min()), dataset.n_weeks
    bad = [c for c in cutoffs if c <= first]
    if bad:
        raise ConfigError(f"backtest cutoffs {bad} leave no training weeks (data starts at week {first})")
    late = [(c, w) for c in cutoffs for w in windows if c + w - 1 > last]
    if late:
        raise ConfigError(
            f"backtest windows run past the data's last week {last}: (cutoff, window) {late[:5]}; "
            "use earlier cutoffs or a shorter window"
        )


def _flat(rows: list[dict[str, Any]], cutoff: int) -> dict[str, float]:
    """One cutoff's summaries as MLflow metric names ``<policy>.w<window>.<metric>``."""
    return {
        f"{r['policy']}.w{r['window']}.{k}": float(v)
        for r in rows
        if r["cutoff"] == cutoff
        for k, v in r.items()
        if k not in ("cutoff", "window", "policy")
    }


def run_backtest(
    dataset: Dataset,
    config: BacktestConfig,
    *,
    train_config: TrainConfig,
    rules: RulesConfig,
    tiers: TiersConfig,
    build_model: ModelBuilder,
    tracker: BacktestTracker | None = None,
) -> BacktestResult:
    """Run every cutoff, policy and window of ``config`` on ``dataset``.

    Parameters
    ----------
    dataset
        All the data; each cutoff's training sees only the weeks before it.
    config
        Cutoffs, windows and policies.
    train_config
        Model settings, and the candidate-list sizes and windows the baselines share with the model.
    rules
        The rules every policy's challenges go through.
    tiers
        Tier thresholds, to re-derive tiers as of each cutoff.
    build_model
        The model's candidate builder, e.g. ``lambda d, c: build_candidates(d, c, train_config)``.
    tracker
        Where per-cutoff metrics go (MLflow child runs); none by default.
    """
    tracker = tracker or NullTracker()
    cutoffs, windows = list(config.cutoffs), list(config.windows)
    policies: list[str] = list(config.policies)
    check_calendar(dataset, cutoffs, windows)
    summaries: list[dict[str, Any]] = []
    outcomes: list[pd.DataFrame] = []
    reasons: list[dict[str, Any]] = []
    steps = tqdm(total=len(cutoffs) * (1 + len(policies)), desc="backtest", disable=not config.progress)
    for cutoff in cutoffs:
        steps.set_postfix_str(f"cutoff {cutoff}: model")
        train = training_slice(dataset, cutoff, tiers)
        model = build_model(train, cutoff)
        steps.update(1)
        artifacts = policy_artifacts(train, cutoff, model, policies, train_config, config.random_seed)
        for policy, artifact in artifacts.items():
            steps.set_postfix_str(f"cutoff {cutoff}: {policy}")
            table = challenge_table(assemble_batch(artifact, rules, cutoff))
            for window in windows:
                week = dataset.transactions[WEEK]
                in_window = dataset.transactions[(week >= cutoff) & (week < cutoff + window)]
                scope = members_in_scope(train.transactions, in_window)
                per_member = member_outcomes(table, in_window, dataset.catalog, scope)
                keys = {"cutoff": cutoff, "window": window, "policy": policy}
                ranking = ranking_outcomes(artifact.stretch, in_window, dataset.catalog, scope)
                summaries.append({**keys, **summarize(per_member), **ranking})
                outcomes.append(per_member.assign(**keys))
                reasons.extend(
                    {**keys, "reason": r, "members": n} for r, n in no_offer_reasons(per_member).items()
                )
            steps.update(1)
        tracker.log_cutoff(cutoff, _params(model), _flat(summaries, cutoff))
    steps.close()
    return BacktestResult(
        summaries=pd.DataFrame(summaries),
        outcomes=pd.concat(outcomes, ignore_index=True),
        reasons=pd.DataFrame(reasons, columns=["cutoff", "window", "policy", "reason", "members"]),
        cutoffs=cutoffs,
        windows=windows,
        policies=policies,
        run_id=tracker.run_id,
    )


def _params(model: CandidateArtifact) -> Mapping[str, Any]:
    return {
        "model_version": model.manifest.model_version,
        "data_fingerprint": model.manifest.data_fingerprint,
    }
