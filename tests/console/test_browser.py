"""The console in a real browser: Playwright driving Debian's Chromium (``/usr/bin/chromium``; Playwright's
own browsers are never downloaded) against the real serving app with the console mounted, under uvicorn
on a free port.

Sign in; a rules edit with an error shows `offers rules validate`'s message; fix it; preview; submit;
approve as a second marketer; the service serves the new rules version; look up a member; read an
experiment. Page load times come from the Navigation Timing API and are printed (never asserted); with
``CONSOLE_REPORT_DIR`` set, screenshots at laptop and phone width and ``load_times.md`` are written there
(the committed ones are in ``experiments/reports/console/``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from engine.cli import app as cli_app
from engine.rules.config import load_rules, rules_version
from tests.console.conftest import PASSWORD, WEEK, LiveServer

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "!!! BROWSER TESTS SKIPPED: /usr/bin/chromium is missing; install it with "
        "`apt-get install -y chromium` (.ci/run does) !!!",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PAGES = {
    "home": "/console/",
    "rules": "/console/rules",
    "changes": "/console/changes",
    "members": f"/console/members?member_id=1&week={WEEK}",
    "budget": f"/console/budget?week={WEEK}",
    "experiments": "/console/experiments",
    "experiment": "/console/experiments/star_challenge_v1",
    "models": "/console/models",
    "audit": "/console/audit",
}
_TIMING = """() => { const n = performance.getEntriesByType('navigation')[0];
  return {ttfb: n.responseStart - n.startTime, dom: n.domContentLoadedEventEnd - n.startTime,
          load: n.loadEventEnd - n.startTime, bytes: n.transferSize}; }"""


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless."""
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def _goto(page: Any, url: str, timings: dict[str, dict[str, float]], name: str) -> None:
    page.goto(url, wait_until="load")
    timings[name] = page.evaluate(_TIMING)


def _sign_in(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/console/")
    assert page.url.endswith("/console/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/console/")


def _cli_message(text: str, tmp_path: Path, shown_as: Path) -> str:
    """What `offers rules validate` prints for ``text`` (the file's path written as ``shown_as``)."""
    copy = tmp_path / "cli-check" / "rules.toml"
    copy.parent.mkdir()
    copy.write_text(text)
    result = CliRunner().invoke(cli_app, ["rules", "validate", str(copy)])
    assert result.exit_code != 0
    out = " ".join(result.output.split())
    return out.replace(str(copy), str(shown_as))


def test_marketer_flow_in_a_real_browser(
    browser: Any, live: LiveServer, rules_path: Path, tmp_path: Path
) -> None:
    base = live.url
    timings: dict[str, dict[str, float]] = {}
    shots: list[tuple[str, Any]] = []
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    _sign_in(page, base, "alice")

    # an edit with an error: the message of `offers rules validate`, as the marketer types
    _goto(page, f"{base}/console/rules", timings, "rules")
    live_text = rules_path.read_text()
    bad = live_text.replace("max_reward_share = 0.5", "max_reward_share = 1.5")
    editor = page.get_by_label("Rules file (validated as you type)")
    editor.fill(bad)
    validation = page.locator("#validation")
    validation.get_by_text("hard_guard.max_reward_share").wait_for()
    shown = " ".join(validation.inner_text().split())
    assert shown == _cli_message(bad, tmp_path, rules_path)
    # fix it
    good = live_text.replace("max_reward_share = 0.5", "max_reward_share = 0.4")
    editor.fill(good)
    validation.get_by_text("valid rules, version").wait_for()
    new_version = rules_version(load_rules(_write(tmp_path / "good" / "rules.toml", good)))
    assert new_version in validation.inner_text()
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(f"{base}/console/rules")
    assert "+max_reward_share = 0.4" in page.locator("#diff").inner_text()
    # the form per section edits the same draft
    page.locator("summary", has_text="[budget]").click()
    page.get_by_label("weekly_expected_cost").fill("400.0")
    page.get_by_role("button", name="Save [budget]").click()
    page.wait_for_url(f"{base}/console/rules")
    assert "+weekly_expected_cost = 400.0" in page.locator("#diff").inner_text()
    new_version = rules_version(
        load_rules(_write(tmp_path / "good2" / "rules.toml", good.replace("= 500.0", "= 400.0")))
    )
    # preview over every member with charts
    page.get_by_role("button", name="Preview the saved draft").click()
    page.locator("#preview svg.chart").first.wait_for()
    preview_text = page.locator("#preview").inner_text()
    assert "20 members" in preview_text
    assert page.locator("#preview svg.chart").count() >= 4  # issued, withheld, cost, profit by tier
    shots.append(("rules", page))
    _screens(context, page, "rules-preview")
    # submit for approval
    page.get_by_label("Note for the approver").fill("smaller rewards relative to margin")
    page.get_by_role("button", name="Submit the saved draft").click()
    page.wait_for_url(f"{base}/console/changes")
    assert "pending" in page.locator("#change-1").inner_text()
    assert page.locator("#approve-1").count() == 0  # not offered to the author
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/console/login")

    # a second marketer approves: the rules are published and the service reloads them
    _sign_in(page, base, "bob")
    _goto(page, f"{base}/console/changes", timings, "changes")
    page.get_by_role("button", name="Approve and publish change 1").click()
    page.wait_for_url(f"{base}/console/changes")
    assert "approved" in page.locator("#change-1").inner_text()
    ready = httpx.get(f"{base}/readyz").json()
    assert ready["rules_version"] == new_version
    served = httpx.get(f"{base}/v1/members/1/challenge", params={"week": WEEK}).json()
    assert served["rules_version"] == new_version

    # look up a member: what they get and why, without issuing
    _goto(page, f"{base}/console/members", timings, "members (form)")
    page.get_by_label("Member id").fill("2")
    page.get_by_label("Week (empty: this week)").fill(str(WEEK))
    page.get_by_role("button", name="Look up").click()
    result = page.locator("#member-result")
    result.get_by_text("Money arithmetic").wait_for()
    assert "Not issued yet" in result.inner_text()
    assert httpx.get(f"{base}/v1/members/1/challenge:preview", params={"week": WEEK}).status_code == 401

    # read an experiment
    _goto(page, f"{base}/console/experiments", timings, "experiments")
    page.get_by_role("link", name="read the report").first.click()
    report = page.locator("#report")
    report.get_by_text("Verdict").first.wait_for()
    assert "SRM" in report.inner_text() or "sample ratio" in report.inner_text().lower()
    assert page.locator("figure img").first.evaluate("img => img.naturalWidth") > 0

    # every main page: load time, and screenshots at laptop and phone width
    for name, path in PAGES.items():
        _goto(page, f"{base}{path}", timings, name)
        _screens(context, page, name)
    _report(timings)
    context.close()


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _report_dir() -> Path | None:
    raw = os.environ.get("CONSOLE_REPORT_DIR")
    return Path(raw) if raw else None


def _screens(context: Any, page: Any, name: str) -> None:
    out = _report_dir()
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / f"{name}-laptop.jpg"), full_page=True, type="jpeg", quality=70)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(out / f"{name}-phone.jpg"), full_page=True, type="jpeg", quality=70)
    page.set_viewport_size(LAPTOP)


def _report(timings: dict[str, dict[str, float]]) -> None:
    lines = [
        "# Console page load times (Navigation Timing API, headless Chromium)",
        "",
        "Measured by `tests/console/test_browser.py` against the real serving app with the console mounted",
        "(embedded store, 20-member test artifact, uvicorn on 127.0.0.1); printed, never asserted.",
        "",
        "| page | time to first byte (ms) | DOMContentLoaded (ms) | load (ms) | bytes |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, t in timings.items():
        lines.append(f"| {name} | {t['ttfb']:.1f} | {t['dom']:.1f} | {t['load']:.1f} | {int(t['bytes'])} |")
    text = "\n".join(lines) + "\n"
    print(text)
    out = _report_dir()
    if out is not None:
        (out / "load_times.md").write_text(text)


def test_chromium_is_debians(browser: Any) -> None:
    assert shutil.which(str(CHROMIUM)) is not None
    assert browser.version
