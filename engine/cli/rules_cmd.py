"""``offers rules validate FILE`` and ``offers rules preview FILE``: the marketer's tools for rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from engine.config import CONFIG_DIR
from engine.errors import RulesError

if TYPE_CHECKING:
    from engine.artifact import CandidateArtifact
    from engine.rules.preview import GroupDiff, Preview

DEFAULT_RULES = CONFIG_DIR / "rules.toml"
#: Trained models, relative to the working directory (``artifact_root`` of configs/train.toml).
ARTIFACTS_DIR = Path("artifacts")


def champion_artifact(artifacts_dir: Path = ARTIFACTS_DIR) -> Path:
    """The champion artifact directory: ``artifacts/<contents of artifacts/CHAMPION>``."""
    from engine.champion import champion_version

    return artifacts_dir / champion_version(artifacts_dir)


def _refuse(exc: RulesError) -> NoReturn:
    """Print every problem of a rules file (unwrapped, so each stays on its line) and exit."""
    Console(stderr=True, soft_wrap=True).print(f"[bold red]invalid rules[/]: {exc.message}", highlight=False)
    raise typer.Exit(exc.exit_code) from exc


def _money(x: float) -> str:
    return f"{x:,.2f}"


def _tier_table(preview: Preview, by: str = "tier") -> Table:
    groups = {"tier": preview.by_tier, "stage": preview.by_stage, "segment": preview.by_segment}[by]
    table = Table(
        title=f"rules {preview.current_version} (current) -> {preview.candidate_version} (candidate), by {by}"
    )
    for col in (by, "members", "issued", "withheld", "exp. reward cost", "exp. profit", "changed"):
        table.add_column(col, justify="left" if col == by else "right")

    def row(name: str, g: GroupDiff) -> None:
        cur, cand = g.current, g.candidate
        table.add_row(
            name,
            str(cur.members),
            f"{cur.issued} -> {cand.issued}",
            f"{cur.withheld} -> {cand.withheld}",
            f"{_money(cur.expected_reward_cost)} -> {_money(cand.expected_reward_cost)}",
            f"{_money(cur.expected_profit)} -> {_money(cand.expected_profit)}",
            str(g.changed),
        )

    for name, group in groups.items():
        row(name, group)
    row("all", preview.overall)
    return table


def _reason_table(preview: Preview) -> Table:
    table = Table(title="offers withheld, by rule")
    for col in ("rule", "current", "candidate"):
        table.add_column(col, justify="left" if col == "rule" else "right")
    cur = preview.overall.current.withheld_by_reason
    cand = preview.overall.candidate.withheld_by_reason
    for reason in sorted(set(cur) | set(cand)):
        table.add_row(reason, str(cur.get(reason, 0)), str(cand.get(reason, 0)))
    return table


def _removal_table(preview: Preview) -> Table:
    table = Table(title="candidates removed, by rule", caption="members affected")
    for col in ("rule", "current", "candidate"):
        table.add_column(col, justify="left" if col == "rule" else "right")
    cur = preview.overall.current.members_with_removals
    cand = preview.overall.candidate.members_with_removals
    for rule in sorted(set(cur) | set(cand)):
        table.add_row(rule, str(cur.get(rule, 0)), str(cand.get(rule, 0)))
    return table


def _examples_table(preview: Preview) -> Table:
    table = Table(title="members whose challenge changes (first few)")
    for col in ("member", "tier", "change", "current", "candidate"):
        table.add_column(col)
    for ex in preview.examples:
        table.add_row(str(ex["member_id"]), ex["tier"], ex["change"], ex["current"], ex["candidate"])
    return table


def week_note(artifact: CandidateArtifact, week: int) -> str:
    """Which week a preview ran for, where that week comes from, and whether its promotions are known.

    A model trained on all the data is scored for the week after it (week 54 of Complete Journey's 53):
    the week a retailer would issue next. Its planned promotions are those the data holds for that week,
    so past the promotion calendar ``promo_stacked`` has nothing to remove; a model trained with
    ``offers train --as-of W`` previews week W, inside the data.
    """
    manifest = artifact.manifest
    if week == manifest.challenge_week:
        text = (
            f"week {week}: the model's challenge week (data week; it was trained on data weeks before "
            f"{manifest.as_of_week})"
        )
    else:
        text = f"week {week} (--week); the model's candidates were scored for week {manifest.challenge_week}"
    promoted = artifact.items.get("promo_store_share")
    if promoted is None or not (promoted > 0).any():
        text += (
            f"; no promotion is planned in week {manifest.challenge_week} in the model's data, so "
            "promo_stacked removes nothing: preview a model trained with `offers train --as-of W` "
            "(--artifact) for a week inside the promotion calendar"
        )
    return text


def register(app: typer.Typer) -> None:
    """Add ``offers rules validate`` and ``offers rules preview`` to ``app``."""
    rules_app = typer.Typer(help="Check and preview rules files (guards, exclusions, tiers, budget).")
    app.add_typer(rules_app, name="rules")

    @rules_app.command("validate")
    def validate(file: Path = typer.Argument(..., help="The rules TOML file to check.")) -> None:
        """Check a rules file; explain every problem and exit non-zero if there is one."""
        from engine.rules.config import load_rules, rules_version

        try:
            rules = load_rules(file)
        except RulesError as exc:
            Console(stderr=True, soft_wrap=True).print(
                f"[bold red]invalid rules[/]: {exc.message}", highlight=False
            )
            raise typer.Exit(exc.exit_code) from exc
        Console().print(f"{file}: valid rules, version {rules_version(rules)}", highlight=False)

    @rules_app.command("preview")
    def preview(
        file: Path = typer.Argument(..., help="The candidate rules TOML file."),
        current: Path = typer.Option(DEFAULT_RULES, "--current", help="The rules in force now."),
        artifact: Path | None = typer.Option(
            None, "--artifact", help="Candidate artifact directory (default: the champion)."
        ),
        week: int | None = typer.Option(
            None,
            "--week",
            help="Challenge week in the data's weeks (default: the artifact's challenge week, the week after "
            "its training data).",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables."),
    ) -> None:
        """Run candidate and current rules over every member of an artifact and compare."""
        from engine.artifact import read_artifact
        from engine.candidates import loyalty_of
        from engine.challenge import assemble_batch
        from engine.rules.config import load_rules
        from engine.rules.preview import compare

        try:
            candidate_rules = load_rules(file)
            current_rules = load_rules(current)
        except RulesError as exc:
            Console(stderr=True, soft_wrap=True).print(
                f"[bold red]invalid rules[/]: {exc.message}", highlight=False
            )
            raise typer.Exit(exc.exit_code) from exc
        loaded = read_artifact(artifact if artifact is not None else champion_artifact())
        challenge_week = week if week is not None else loaded.manifest.challenge_week
        result = compare(
            assemble_batch(loaded, current_rules, challenge_week),
            assemble_batch(loaded, candidate_rules, challenge_week),
            loyalty_of(loaded),
        )
        note = week_note(loaded, challenge_week)
        if as_json:
            payload = {
                "week": challenge_week,
                "week_note": note,
                "model_version": loaded.manifest.model_version,
                **result.to_dict(),
            }
            typer.echo(json.dumps(payload, indent=2, default=str))
            return
        console = Console()
        console.print(f"model {loaded.manifest.model_version}, {note}", highlight=False, soft_wrap=True)
        console.print(_tier_table(result))
        console.print(_tier_table(result, "stage"))
        if result.by_segment:
            console.print(_tier_table(result, "segment"))
        console.print(_reason_table(result))
        console.print(_removal_table(result))
        if result.examples:
            console.print(_examples_table(result))
        console.print(f"members whose challenge changes: {result.overall.changed} {result.changes}")
