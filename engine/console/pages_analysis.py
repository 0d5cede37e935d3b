"""Experiments (definitions and their analysis reports with plots) and models (champion, earlier
versions with their backtest numbers; promote and roll back, admin only)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse
from markdown_it import MarkdownIt
from markupsafe import Markup

from engine.artifact import read_manifest
from engine.champion import read_champion, write_champion
from engine.console.accounts import Session
from engine.console.web import Posted, console_state, posted, redirect, render, requires_role, viewer
from engine.errors import ArtifactError, NotFound
from engine.experiments.definition import load_definitions
from engine.serve.publish import check_version, load_for_publish, publish

router = APIRouter()
#: Report files the console shows: the Markdown report and its plots.
PLOT_SUFFIX = ".png"
_MD = MarkdownIt("commonmark", {"html": False}).enable("table")


@router.get("/experiments")
async def experiments(request: Request, session: Annotated[Session, Depends(viewer)]) -> Response:
    """Every experiment definition, and whether an analysis report exists for it."""
    config = console_state(request).config
    definitions = load_definitions(config.experiments_dir)
    reports = (
        sorted(p.name for p in config.reports_dir.iterdir() if (p / "report.md").exists())
        if config.reports_dir.exists()
        else []
    )
    return render(request, "experiments.html", session, definitions=definitions, reports=reports)


def _report_dir(request: Request, name: str) -> Path:
    check_version(name)  # the same safe-name rule as model versions: no path tricks
    directory = console_state(request).config.reports_dir / name
    if not (directory / "report.md").exists():
        raise NotFound(f"no analysis report for {name!r} (run `offers experiment analyze` or `simulate`)")
    return directory


@router.get("/experiments/{name}")
async def experiment(request: Request, name: str, session: Annotated[Session, Depends(viewer)]) -> Response:
    """One experiment's report (arms, exposures, effects with CIs, SRM, guardrails, verdict) and plots."""
    directory = _report_dir(request, name)
    definitions = load_definitions(console_state(request).config.experiments_dir)
    body = Markup(_MD.render(directory.joinpath("report.md").read_text(encoding="utf-8")))
    plots = sorted(p.name for p in directory.iterdir() if p.suffix == PLOT_SUFFIX)
    return render(
        request,
        "experiment.html",
        session,
        name=name,
        definition=definitions.get(name),
        report=body,
        plots=plots,
    )


@router.get("/experiments/{name}/plots/{file}")
async def plot(
    request: Request, name: str, file: str, session: Annotated[Session, Depends(viewer)]
) -> Response:
    """A plot of a report (only PNG files directly in the report's folder)."""
    directory = _report_dir(request, name)
    found = {p.name: p for p in directory.iterdir() if p.suffix == PLOT_SUFFIX}
    if file not in found:
        raise NotFound(f"no plot {file!r} in the report of {name!r}")
    return FileResponse(found[file], media_type="image/png")


def _versions(root: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for directory in sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []:
        try:
            manifest = read_manifest(directory)
        except ArtifactError as exc:
            out.append({"version": directory.name, "error": exc.message})
            continue
        out.append({"version": directory.name, "manifest": manifest})
    return out


@router.get("/models")
async def models(request: Request, session: Annotated[Session, Depends(viewer)]) -> Response:
    """The champion, the served and previous versions, and every trained version's backtest numbers."""
    serve = console_state(request).serve
    root = serve.settings.artifact_root
    return render(
        request,
        "models.html",
        session,
        versions=_versions(root),
        champion=read_champion(root),
        current=await serve.store.current_version(),
        previous=await serve.store.previous_version(),
    )


@router.post("/models/{version}/promote")
async def promote(request: Request, version: str, post: Annotated[Posted, Depends(posted)]) -> Response:
    """Admin: publish ``version`` (as the admin API does) and make it the champion."""
    requires_role(post.session, "admin")
    state = console_state(request)
    serve = state.serve
    check_version(version)
    publication = await anyio.to_thread.run_sync(
        load_for_publish, serve.settings.artifact_root, version, serve.rules.current().rules
    )
    before = await publish(serve.store, publication)
    # The champion pointer follows, so a restart or a store that comes back empty serves this version.
    write_champion(serve.settings.artifact_root, version)
    assert post.session.user is not None
    state.audit.append(
        "model_promoted", post.session.user, f"model {version}", version_before=before, version_after=version
    )
    return redirect(request, "/models")


@router.post("/models/rollback")
async def rollback(request: Request, post: Annotated[Posted, Depends(posted)]) -> Response:
    """Admin: serve the previous model version again (and make it the champion)."""
    requires_role(post.session, "admin")
    state = console_state(request)
    serve = state.serve
    before = await serve.store.current_version()
    current = await serve.store.rollback()
    write_champion(serve.settings.artifact_root, current)
    assert post.session.user is not None
    state.audit.append(
        "model_rolled_back",
        post.session.user,
        f"model {current}",
        version_before=before,
        version_after=current,
    )
    return redirect(request, "/models")
