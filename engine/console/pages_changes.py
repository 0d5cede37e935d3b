"""Change requests (approve or reject another user's change) and the audit log (read only: the console
has no route that edits or deletes it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from engine.console.accounts import Session
from engine.console.audit import verify_chain
from engine.console.web import Posted, console_state, posted, redirect, render, viewer

router = APIRouter()


@router.get("/changes")
async def changes(request: Request, session: Annotated[Session, Depends(viewer)]) -> Response:
    """Every change request, pending first."""
    state = console_state(request)
    items = sorted(state.desk.changes(), key=lambda c: (c.status != "pending", -c.id))
    return render(request, "changes.html", session, changes=items, approver_roles=state.config.approver_roles)


@router.post("/changes/{change_id}/approve")
async def approve(request: Request, change_id: int, post: Annotated[Posted, Depends(posted)]) -> Response:
    """Approve and publish another user's change."""
    console_state(request).desk.approve(post.session, change_id)
    return redirect(request, "/changes")


@router.post("/changes/{change_id}/reject")
async def reject(request: Request, change_id: int, post: Annotated[Posted, Depends(posted)]) -> Response:
    """Reject another user's change."""
    console_state(request).desk.reject(post.session, change_id)
    return redirect(request, "/changes")


@router.get("/audit")
async def audit(request: Request, session: Annotated[Session, Depends(viewer)]) -> Response:
    """The audit log, newest first, and whether its hash chain is intact."""
    state = console_state(request)
    return render(
        request,
        "audit.html",
        session,
        entries=state.audit.entries(limit=200),
        problems=verify_chain(state.audit),
    )
