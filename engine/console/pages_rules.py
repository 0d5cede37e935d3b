"""Rules pages: the draft (a form per section and the raw TOML), validation as you type, the diff against
the live rules, the preview with charts, and submission for approval."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Response
from markupsafe import Markup

from engine.console.accounts import Session
from engine.console.changes import EDITOR_ROLES, unified_diff
from engine.console.charts import bar_chart
from engine.console.preview import PreviewRun
from engine.console.sections import apply_section, sections
from engine.console.web import Posted, console_state, posted, redirect, render, requires_role, text, viewer
from engine.errors import RulesError, StoreUnavailable
from engine.rules.config import rules_version

router = APIRouter()


@router.get("/rules")
async def rules_page(request: Request, session: Annotated[Session, Depends(viewer)]) -> Response:
    """The user's draft with its forms, validation, and diff against the live rules."""
    state = console_state(request)
    assert session.user is not None
    draft = state.desk.draft(session.user)
    live = state.serve.rules.live
    return render(
        request,
        "rules.html",
        session,
        draft=draft,
        sections=sections(draft),
        validation=_validation(request, draft),
        diff=unified_diff(state.desk.live_text(), draft, live.version),
        live_version=live.version,
        can_edit=session.role in EDITOR_ROLES,
    )


def _validation(request: Request, draft: str) -> dict[str, Any]:
    try:
        rules = console_state(request).desk.validate(draft)
    except RulesError as exc:
        return {"ok": False, "message": exc.message}
    return {"ok": True, "message": f"valid rules, version {rules_version(rules)}"}


@router.post("/rules/validate")
async def validate(request: Request, post: Annotated[Posted, Depends(posted)]) -> Response:
    """htmx, as the marketer types: the messages `offers rules validate` gives for this text."""
    return render(
        request,
        "fragments/validation.html",
        post.session,
        validation=_validation(request, text(post.form, "text")),
    )


@router.post("/rules/draft")
async def save_draft(request: Request, post: Annotated[Posted, Depends(posted)]) -> Response:
    """Keep the raw TOML as the user's draft."""
    requires_role(post.session, *EDITOR_ROLES)
    assert post.session.user is not None
    console_state(request).desk.save_draft(post.session.user, text(post.form, "text"))
    return redirect(request, "/rules")


@router.post("/rules/section/{name}")
async def save_section(request: Request, name: str, post: Annotated[Posted, Depends(posted)]) -> Response:
    """Write one section's form values into the draft."""
    requires_role(post.session, *EDITOR_ROLES)
    assert post.session.user is not None
    desk = console_state(request).desk
    values = {k: v for k, v in post.form.items() if k.startswith(f"{name}.") and isinstance(v, str)}
    desk.save_draft(post.session.user, apply_section(desk.draft(post.session.user), name, values))
    return redirect(request, "/rules")


@router.post("/rules/discard")
async def discard(request: Request, post: Annotated[Posted, Depends(posted)]) -> Response:
    """Drop the draft: start again from the live rules."""
    assert post.session.user is not None
    console_state(request).desk.discard_draft(post.session.user)
    return redirect(request, "/rules")


@router.post("/rules/preview")
async def preview(request: Request, post: Annotated[Posted, Depends(posted)]) -> Response:
    """htmx: the draft against the live rules over every member of the served model version."""
    state = console_state(request)
    assert post.session.user is not None
    draft = state.desk.validate(state.desk.draft(post.session.user))
    version = await state.serve.store.current_version()
    if version is None:
        raise StoreUnavailable("no model version is served yet: nothing to preview against")
    live = state.serve.rules.live.rules
    run = await anyio.to_thread.run_sync(state.previews.run, version, live, draft)
    return render(request, "fragments/preview.html", post.session, run=run, charts=preview_charts(run))


def preview_charts(run: PreviewRun) -> list[Markup]:
    """Issued and withheld, expected cost and profit per group of every breakdown; withheld by rule."""
    charts: list[Markup] = []
    series = ("live", "draft")
    for name, groups in run.breakdowns().items():
        keys = [*groups, "all"]
        overall = run.preview.to_dict()["overall"]
        rows = [groups[k] for k in groups] + [overall]
        for metric, title in (
            ("issued", "offers issued"),
            ("withheld", "offers withheld"),
            ("expected_reward_cost", "expected reward cost"),
            ("expected_profit", "expected profit"),
        ):
            data = {s: [r["current" if s == "live" else "candidate"][metric] for r in rows] for s in series}
            charts.append(Markup(bar_chart(f"{title} by {name}", keys, data)))
    cur = run.preview.overall.current.withheld_by_reason
    cand = run.preview.overall.candidate.withheld_by_reason
    reasons = sorted(set(cur) | set(cand))
    if reasons:
        data = {"live": [cur.get(r, 0) for r in reasons], "draft": [cand.get(r, 0) for r in reasons]}
        charts.append(Markup(bar_chart("offers withheld, by rule", reasons, data)))
    cur = run.preview.overall.current.members_with_removals
    cand = run.preview.overall.candidate.members_with_removals
    rules = sorted(set(cur) | set(cand))
    if rules:
        data = {"live": [cur.get(r, 0) for r in rules], "draft": [cand.get(r, 0) for r in rules]}
        charts.append(Markup(bar_chart("members with candidates removed, by rule", rules, data)))
    return charts


@router.post("/rules/submit")
async def submit(request: Request, post: Annotated[Posted, Depends(posted)]) -> Response:
    """Submit the draft for a second user's approval."""
    console_state(request).desk.submit(post.session, text(post.form, "note"))
    return redirect(request, "/changes")
