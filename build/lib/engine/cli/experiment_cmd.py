"""``offers experiment``: validate definitions, import events, analyse, simulate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from engine.config import CONFIG_DIR

if TYPE_CHECKING:
    from engine.experiments.config import ExperimentsConfig
    from engine.experiments.pipeline import RunOutput
    from engine.experiments.protocol import EventStore

_CONFIG = typer.Option(CONFIG_DIR / "experiments.toml", "--config", help="Experiments config (TOML).")
_DIR = typer.Option(None, "--dir", help="Folder of experiment definitions (default: ./experiments).")
_STORE = typer.Option(None, "--store", help="Event store file (default: [store].path in the config).")


def _open_store(config: ExperimentsConfig, store: Path | None) -> EventStore:
    from engine.experiments.config import open_store

    return open_store(config.store, store)


def _print_run(out: RunOutput) -> None:
    console = Console()
    for verdict in out.analysis.verdicts:
        console.print(verdict)
    for path in out.files:
        console.print(f"wrote {path}")
    if out.mlflow_run_id:
        console.print(f"MLflow run {out.mlflow_run_id}")


def register(app: typer.Typer) -> None:
    """Add the ``experiment`` command group to ``app``."""
    exp = typer.Typer(help="A/B experiments on challenges: validate, import events, analyze, simulate.")

    @exp.command("validate")
    def validate(directory: Path | None = _DIR, config: Path = _CONFIG, store: Path | None = _STORE) -> None:
        """Validate every definition, their overlaps, and (if the store exists) their assignment locks."""
        from engine.experiments.config import load_experiments_config
        from engine.experiments.definition import EXPERIMENTS_DIR, load_definitions

        cfg = load_experiments_config(config)
        definitions = load_definitions(directory or EXPERIMENTS_DIR)
        table = Table(title="Experiments")
        for column in ("name", "population", "weeks", "arms", "primary metric", "lock"):
            table.add_column(column)
        sqlite_file = store or getattr(cfg.store, "path", None)
        exists = sqlite_file is None or Path(sqlite_file).exists()
        for d in definitions.values():
            lock = "no store"
            if exists:
                s = _open_store(cfg, store)
                try:
                    lock = s.lock_status(d)
                finally:
                    s.close()
            arms = ", ".join(f"{a.name}={a.weight:g}" for a in d.arms)
            table.add_row(d.name, d.population, f"{d.start_week}-{d.end_week}", arms, d.primary_metric, lock)
        Console().print(table)

    @exp.command("import-events")
    def import_events(file: Path, config: Path = _CONFIG, store: Path | None = _STORE) -> None:
        """Import purchase events from a Parquet or CSV file (all rows or none)."""
        from engine.experiments.config import load_experiments_config
        from engine.experiments.importer import import_purchases

        cfg = load_experiments_config(config)
        s = _open_store(cfg, store)
        try:
            touched = import_purchases(s, file)
            completed = sum(p.reward_issued_now for p in touched)
            Console().print(
                f"imported {file}: {len(touched):,} member-weeks touched, {completed:,} rewards issued now; "
                f"store holds {s.counts()}"
            )
        finally:
            s.close()

    @exp.command("import-signals")
    def import_signals_cmd(file: Path, config: Path = _CONFIG, store: Path | None = _STORE) -> None:
        """Import member signals (opt_out, opt_in, unsubscribe, blocked_notifications) from Parquet or CSV.

        Columns: event_id, member_id, kind, week (+ timestamp). An opt-out stops the member's offers
        from the next challenge issued until a later opt-in; all kinds but opt_in count in the
        opt_out_rate guardrail.
        """
        from engine.experiments.config import load_experiments_config
        from engine.experiments.importer import import_signals

        cfg = load_experiments_config(config)
        s = _open_store(cfg, store)
        try:
            rows, new = import_signals(s, file)
            Console().print(f"imported {file}: {rows:,} signals, {new:,} new; store holds {s.counts()}")
        finally:
            s.close()

    @exp.command("analyze")
    def analyze(
        name: str,
        config: Path = _CONFIG,
        store: Path | None = _STORE,
        directory: Path | None = _DIR,
        out: Path | None = typer.Option(None, "--out", help="Report folder (default: reports_dir/NAME)."),
        mlflow: bool = typer.Option(True, "--mlflow/--no-mlflow", help="Log the results to MLflow."),
    ) -> None:
        """Analyse an experiment from the stored events; write the report and log to MLflow."""
        from engine.data.loaders import load_dataset
        from engine.experiments.config import load_experiments_config
        from engine.experiments.definition import EXPERIMENTS_DIR, find_definition
        from engine.experiments.pipeline import analyze_experiment

        cfg = load_experiments_config(config)
        definition = find_definition(name, directory or EXPERIMENTS_DIR)
        dataset = load_dataset()
        s = _open_store(cfg, store)
        displays = None
        if definition.exposure == "displayed":
            from engine.experiments.displays import open_display_log

            displays = open_display_log(cfg.store, store)
        try:
            run = analyze_experiment(
                definition, s, dataset, cfg, out_dir=out, log_mlflow=mlflow, displays=displays
            )
            _print_run(run)
        finally:
            s.close()
            if displays is not None:
                displays.close()

    @exp.command("simulate")
    def simulate(
        name: str,
        weeks: int | None = typer.Option(
            None, "--weeks", min=1, help="Held-out weeks to replay (default: config)."
        ),
        policy: str = typer.Option("recommender", "--policy", help="recommender (train + rules) or simple."),
        synthetic: int | None = typer.Option(
            None, "--synthetic", min=10, help="Use N synthetic members instead."
        ),
        lift: float | None = typer.Option(None, "--lift", min=0, max=1, help="Injected pick lift."),
        config: Path = _CONFIG,
        directory: Path | None = _DIR,
        out: Path | None = typer.Option(None, "--out", help="Report folder (default: reports_dir/NAME)."),
        mlflow: bool = typer.Option(True, "--mlflow/--no-mlflow", help="Log the results to MLflow."),
    ) -> None:
        """Replay held-out weeks with a behavioural response, analyse, and write the report."""
        from engine.errors import ConfigError
        from engine.experiments.config import load_experiments_config
        from engine.experiments.definition import EXPERIMENTS_DIR, find_definition
        from engine.experiments.pipeline import simulate_experiment
        from engine.experiments.policies import habit_policy, habit_stretch_policy
        from engine.experiments.simulator import held_out_weeks

        cfg = load_experiments_config(config)
        sim_cfg = cfg.simulation.model_copy(
            update={k: v for k, v in (("weeks", weeks), ("lift", lift)) if v is not None}
        )
        cfg = cfg.model_copy(update={"simulation": sim_cfg})
        definition = find_definition(name, directory or EXPERIMENTS_DIR)
        if synthetic is not None:
            from engine.data.synthetic import generate_synthetic

            dataset = generate_synthetic(
                synthetic, sim_cfg.synthetic_items, sim_cfg.synthetic_weeks, sim_cfg.seed
            )
        else:
            from engine.data.loaders import load_dataset

            dataset = load_dataset()
        cost = sim_cfg.reward_cost
        labels = {
            "recommender": "trained candidates + rules (engine.train, engine.challenge)",
            "simple": "stand-in: 2 most-bought items + most popular item of an unbought category",
        }
        if policy == "recommender":
            from engine.experiments.policies import recommender_policy
            from engine.rules.config import load_rules
            from engine.train.config import load_train_config

            recommender = recommender_policy(load_rules(), load_train_config())
        elif policy == "simple":
            recommender = habit_stretch_policy(cost)
        else:
            raise ConfigError(f"--policy: expected recommender or simple, got {policy!r}")
        policies = {"recommender": recommender, "baseline": habit_policy(sim_cfg.baseline_picks, cost)}
        used = {a.policy for a in definition.arms}
        policies = {k: v for k, v in policies.items() if k in used}
        store_path = sim_cfg.store_dir / f"simulation_{name}.sqlite3"
        run = simulate_experiment(
            definition,
            dataset,
            policies,
            held_out_weeks(dataset, sim_cfg.weeks),
            cfg,
            store_path,
            out_dir=out,
            log_mlflow=mlflow,
            labels={"recommender policy": labels[policy]},
        )
        _print_run(run)

    @exp.command("export")
    def export(
        name: str,
        out: Path = typer.Option(Path("."), "--out", help="Folder for the two JSON files."),
        directory: Path | None = _DIR,
    ) -> None:
        """Write NAME as GrowthBook JSON: the SDK feature payload and the REST experiment object."""
        import json

        from engine.experiments.definition import EXPERIMENTS_DIR, find_definition
        from engine.experiments.growthbook import experiment_document, feature_payload

        definition = find_definition(name, directory or EXPERIMENTS_DIR)
        out.mkdir(parents=True, exist_ok=True)
        console = Console()
        for suffix, document in (
            ("features", feature_payload(definition)),
            ("experiment", experiment_document(definition)),
        ):
            path = out / f"{name}.{suffix}.json"
            path.write_text(json.dumps(document, indent=2) + "\n")
            console.print(f"wrote {path}")

    @exp.command("plan")
    def plan(
        name: str,
        power: float | None = typer.Option(None, "--power", min=0.01, max=0.99, help="Default: config."),
        effect: float | None = typer.Option(
            None, "--effect", help="Also say how many weeks each arm needs to detect this effect per week."
        ),
        synthetic: int | None = typer.Option(
            None, "--synthetic", min=10, help="Plan on N synthetic members instead of the real data."
        ),
        config: Path = _CONFIG,
        directory: Path | None = _DIR,
    ) -> None:
        """Minimum detectable effect of NAME's primary metric from pre-period variance (with CUPED)."""
        from engine.experiments.config import load_experiments_config
        from engine.experiments.definition import EXPERIMENTS_DIR, find_definition
        from engine.experiments.planning import plan_experiment, render_plan

        cfg = load_experiments_config(config)
        definition = find_definition(name, directory or EXPERIMENTS_DIR)
        if synthetic is not None:
            from engine.data.synthetic import generate_synthetic

            sim = cfg.simulation
            dataset = generate_synthetic(synthetic, sim.synthetic_items, definition.end_week, sim.seed)
        else:
            from engine.data.loaders import load_dataset

            dataset = load_dataset()
        result = plan_experiment(
            dataset,
            definition,
            alpha=cfg.analysis.alpha,
            power=power or cfg.analysis.power,
            pre_period_weeks=cfg.analysis.pre_period_weeks,
            sequential_tuning=definition.sequential_tuning,
        )
        console = Console(width=200)
        console.print(render_plan(result), highlight=False)
        if effect is not None:
            for arm in dict.fromkeys(a.arm for a in result.arms):
                weeks = result.weeks_needed(arm, effect)
                answer = f"{weeks} week(s)" if weeks else f"more than {result.planned_weeks} weeks"
                how = "CUPED, confidence sequence" if definition.sequential else "CUPED"
                console.print(f"{arm}: an effect of {effect:g} per member and week needs {answer} ({how})")

    @exp.command("aa")
    def aa(
        runs: int | None = typer.Option(None, "--runs", min=1, help="A/A experiments (default: config)."),
        weeks: int | None = typer.Option(
            None, "--weeks", min=1, help="Weeks of daily looks (default: config)."
        ),
        synthetic: int | None = typer.Option(
            None, "--synthetic", min=10, help="Use N synthetic members instead of the real data."
        ),
        config: Path = _CONFIG,
        out: Path | None = typer.Option(None, "--out", help="Report folder (default: [aa].reports_dir)."),
    ) -> None:
        """Simulate many A/A experiments on real members with daily looks; report the false-positive rates."""
        from engine.experiments.aa import outcome_matrix, simulate_aa
        from engine.experiments.aa_report import write_aa_report
        from engine.experiments.config import load_experiments_config

        cfg = load_experiments_config(config)
        n_runs, n_weeks = runs or cfg.aa.runs, weeks or cfg.aa.weeks
        if synthetic is not None:
            from engine.data.synthetic import generate_synthetic

            sim = cfg.simulation
            dataset = generate_synthetic(synthetic, sim.synthetic_items, sim.synthetic_weeks, sim.seed)
        else:
            from engine.data.loaders import load_dataset

            dataset = load_dataset()
        matrix = outcome_matrix(dataset, n_weeks)
        result = simulate_aa(matrix, n_runs, cfg.analysis.alpha, cfg.aa.seed, cfg.aa.treated_share)
        command = f"offers experiment aa --runs {n_runs} --weeks {n_weeks}" + (
            f" --synthetic {synthetic}" if synthetic is not None else ""
        )
        files = write_aa_report(
            result, out or cfg.aa.reports_dir, dataset.source, matrix.first_week, n_weeks, command
        )
        console = Console()
        console.print(
            f"{result.runs:,} A/A runs, {result.members:,} members, {result.looks} daily looks: "
            f"false positives: one look at the end {100 * result.final_look_only:.2f}%, daily peeking "
            f"{100 * result.naive:.2f}%, confidence sequence {100 * result.sequential:.2f}%, "
            f"group-sequential {100 * result.group:.2f}%"
        )
        for path in files:
            console.print(f"wrote {path}")

    app.add_typer(exp, name="experiment")
