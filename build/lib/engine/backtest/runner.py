"""The backtest loop: global temporal split, every policy through the same rules, measured on the window.

For each cutoff ``c``:

1. the training slice is ``dataset.before_week(c)`` with tiers re-derived as of ``c`` (no later spend);
2. the model's artifact is built from it, and each baseline swaps its own habitual or stretch table into
   that artifact (habitual baselines keep the model's stretch list, stretch baselines the model's
   habitual list, so each comparison isolates one kind of pick; the shared tables are the model's);
3. every policy's artifact goes through :func:`engine.challenge.assemble_batch` for week ``c``;
4. the challenges are measured on weeks ``c .. c + w - 1`` for each window ``w``, over members active
   before ``c`` and seen in the window. Ranking uses each policy's full candidate lists;
   ``stretch_top1_adoption`` also measures each policy's stretch ranking alone, before the rules;
5. member-facing: the model's issued challenges against the raw baseline challenges of the same
   members (:mod:`engine.backtest.raw`, no rules), over every issued member whether or not they shop
   in the window (:mod:`engine.backtest.member_facing`); who was issued, per tier and among recently
   active members; and every policy's issued challenges re-checked (:mod:`engine.backtest.audit`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from engine.artifact import CandidateArtifact
from engine.backtest.audit import PurchaseHistory, audit_batch
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
from engine.backtest.member_facing import active_members, issuance, measure_cutoff
from engine.backtest.metrics import (
    member_outcomes,
    members_in_scope,
    no_offer_reasons,
    ranking_outcomes,
    summarize,
)
from engine.backtest.raw import raw_challenges
from engine.backtest.tracking import BacktestTracker, NullTracker
from engine.candidates import Catalog
from engine.challenge import Challenge, assemble_batch
from engine.data.schema import TIERS, WEEK, Dataset
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
    #: Member-facing rows, model and raw (see :mod:`engine.backtest.member_analysis`).
    member_facing: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: One row per cutoff: members and issued per tier, active members and issued among them.
    issuance: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Issued challenges failing the audit: ``cutoff``, ``policy``, ``member_id``, ``week``, ``rule``,
    #: ``detail``.
    violations: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: The data's last week (the member-facing horizon cannot run past it).
    last_week: int = 0


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
    facing: list[pd.DataFrame] = []
    issuance_rows: list[dict[str, Any]] = []
    violations: list[pd.DataFrame] = []
    steps = tqdm(total=len(cutoffs) * (1 + len(policies)), desc="backtest", disable=not config.progress)
    for cutoff in cutoffs:
        steps.set_postfix_str(f"cutoff {cutoff}: model")
        train = training_slice(dataset, cutoff, tiers)
        model = build_model(train, cutoff)
        steps.update(1)
        artifacts = policy_artifacts(train, cutoff, model, policies, train_config, config.random_seed)
        batches: dict[str, list[Challenge]] = {}
        for policy, artifact in artifacts.items():
            steps.set_postfix_str(f"cutoff {cutoff}: {policy}")
            batch = batches[policy] = assemble_batch(artifact, rules, cutoff)
            table = challenge_table(batch)
            if policy == "model":
                facing.append(_member_facing(dataset, train, table, cutoff, config))
                active = active_members(train.transactions, cutoff, config.member_facing.active_weeks)
                issuance_rows.append({"cutoff": cutoff, **issuance(table, active, TIERS)})
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
        violations.append(_audit(batches, artifacts, train, rules, cutoff))
        latest = issuance_rows[-1] if issuance_rows else {}
        shares = _issued_shares(latest) if latest.get("cutoff") == cutoff else {}
        tracker.log_cutoff(cutoff, _params(model), _flat(summaries, cutoff) | shares)
    steps.close()
    return BacktestResult(
        summaries=pd.DataFrame(summaries),
        outcomes=pd.concat(outcomes, ignore_index=True),
        reasons=pd.DataFrame(reasons, columns=["cutoff", "window", "policy", "reason", "members"]),
        cutoffs=cutoffs,
        windows=windows,
        policies=policies,
        run_id=tracker.run_id,
        member_facing=pd.concat(facing, ignore_index=True) if facing else pd.DataFrame(),
        issuance=pd.DataFrame(issuance_rows),
        violations=pd.concat(violations, ignore_index=True),
        last_week=dataset.n_weeks,
    )


def _issued_shares(counts: Mapping[str, int]) -> dict[str, float]:
    """One cutoff's issuance as MLflow metrics ``member.issued_share.<tier | active>``."""
    out = {
        f"member.issued_share.{tier}": counts[f"issued_{tier}"] / counts[f"members_{tier}"]
        for tier in TIERS
        if counts[f"members_{tier}"]
    }
    if counts["active"]:
        out["member.issued_share.active"] = counts["active_issued"] / counts["active"]
    return out


def _member_facing(
    dataset: Dataset, train: Dataset, table: pd.DataFrame, cutoff: int, config: BacktestConfig
) -> pd.DataFrame:
    """The model's issued challenges and the same members' raw baselines, measured (no rules)."""
    params = config.member_facing
    raw = raw_challenges(train.transactions, dataset.catalog, cutoff, params.popularity_weeks)
    return measure_cutoff(
        table,
        raw,
        dataset.transactions,
        dataset.catalog,
        cutoff,
        weeks_after=params.weeks_after,
        last_week=dataset.n_weeks,
    )


def _audit(
    batches: Mapping[str, list[Challenge]],
    artifacts: Mapping[str, CandidateArtifact],
    train: Dataset,
    rules: RulesConfig,
    cutoff: int,
) -> pd.DataFrame:
    """Every policy's issued challenges of ``cutoff`` re-checked against the rules."""
    picked = {
        item
        for batch in batches.values()
        for c in batch
        if c.status == "issued"
        for item in [*(h.item_id for h in c.habitual), *([c.stretch.item_id] if c.stretch else [])]
    }
    history = PurchaseHistory.before(train.transactions, train.catalog, cutoff, items=list(picked))
    frames = [
        audit_batch(batch, Catalog.from_artifact(artifacts[policy]), rules, history).assign(
            cutoff=cutoff, policy=policy
        )
        for policy, batch in batches.items()
    ]
    return pd.concat(frames, ignore_index=True)


def _params(model: CandidateArtifact) -> Mapping[str, Any]:
    return {
        "model_version": model.manifest.model_version,
        "data_fingerprint": model.manifest.data_fingerprint,
    }
