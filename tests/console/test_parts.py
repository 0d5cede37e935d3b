"""The console's parts without a browser: validation messages equal the CLI's, section forms keep the
file's comments, charts are plain SVG, the CLI adds users without a password argument and verifies the
audit chain, and the console process never imports training code or MLflow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app as cli_app
from engine.config import CONFIG_DIR
from engine.console import Accounts, AuditLog, ConsoleDB, load_console_config, verify_chain
from engine.console.charts import bar_chart
from engine.console.sections import apply_section, sections
from engine.errors import BadRequest, RulesError
from engine.rules.config import load_rules, parse_rules_text

SHIPPED = (CONFIG_DIR / "rules.toml").read_text()


@pytest.mark.parametrize(
    "bad",
    [
        SHIPPED.replace("max_reward_share = 0.5", "max_reward_share = 1.5"),
        SHIPPED.replace("[budget]", "[budget\n"),
        SHIPPED + "\n[tiers.platinum]\nstars = 1\ncash_per_star = 0.1\n",
    ],
)
def test_draft_messages_are_those_of_the_file(bad: str, tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(bad)
    with pytest.raises(RulesError) as from_file:
        load_rules(path)
    with pytest.raises(RulesError) as from_text:
        parse_rules_text(bad, str(path), base_dir=tmp_path)
    assert from_text.value.message == from_file.value.message


def test_section_forms_keep_comments_and_types() -> None:
    fields = {f.key: f for f in sections(SHIPPED)["tiers"]}
    assert fields["tiers.gold.stars"].kind == "int"
    edited = apply_section(SHIPPED, "tiers", {"tiers.gold.stars": "60", "tiers.gold.cash_per_star": "0.03"})
    assert "# Reward (bonus stars, cash cost per star)" in edited
    rules = parse_rules_text(edited, str(CONFIG_DIR / "rules.toml"), base_dir=CONFIG_DIR)
    assert rules.tiers["gold"].stars == 60
    assert rules.tiers["gold"].cash_per_star == pytest.approx(0.03)
    with pytest.raises(BadRequest, match=r"tiers\.gold\.stars"):
        apply_section(SHIPPED, "tiers", {"tiers.gold.stars": "many"})
    with pytest.raises(BadRequest, match="not a key"):
        apply_section(SHIPPED, "tiers", {"tiers.gold.bonus": "1"})


def test_chart_escapes_and_scales() -> None:
    svg = bar_chart("issued <by> tier", ["gold", "<b>"], {"live": [10, -5], "draft": [20, 0]})
    assert svg.startswith("<svg")
    assert "<b>" not in svg
    assert "&lt;b&gt;" in svg
    assert svg.count("<rect") == 2 + 4  # legend + bars


def test_cli_adds_users_and_verifies_the_audit_log(tmp_path: Path) -> None:
    config = tmp_path / "console.toml"
    text = (CONFIG_DIR / "console.toml").read_text()
    config.write_text(text.replace('"state/console.sqlite3"', f'"{tmp_path / "c.sqlite3"}"'))
    runner = CliRunner()
    added = runner.invoke(
        cli_app,
        [
            "console",
            "add-user",
            "carol",
            "--role",
            "analyst",
            "--password-stdin",
            "--console-config",
            str(config),
        ],
        input="a long enough password\n",
    )
    assert added.exit_code == 0, added.output
    assert "a long enough password" not in added.output
    cfg = load_console_config(config)
    db = ConsoleDB(cfg.database)
    assert Accounts(db, cfg).users() == [("carol", "analyst")]
    assert Accounts(db, cfg).authenticate("carol", "a long enough password") == "analyst"
    AuditLog(db).append("rules_published", "carol", "change 1", approver="dave")
    ok = runner.invoke(cli_app, ["console", "verify-audit", "--console-config", str(config)])
    assert ok.exit_code == 0
    assert "intact: 1 entries" in ok.output
    db._conn.execute("DROP TRIGGER audit_no_update")
    db._conn.execute("UPDATE audit SET approver = 'carol'")
    assert verify_chain(AuditLog(db))
    bad = runner.invoke(cli_app, ["console", "verify-audit", "--console-config", str(config)])
    assert bad.exit_code == 1
    db.close()


def test_the_console_never_imports_training_or_mlflow() -> None:
    code = (
        "import sys; import engine.console.app; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('mlflow', 'lightfm') "
        "or m.startswith(('engine.train', 'engine.backtest'))); print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
