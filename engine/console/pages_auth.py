"""Sign-in, sign-out and the home page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from engine.console.accounts import Session
from engine.console.web import (
    COOKIE,
    Posted,
    checked_form,
    console_state,
    current_session,
    posted,
    redirect,
    render,
    set_session_cookie,
    text,
    viewer,
)
from engine.errors import Unauthorized

router = APIRouter()


@router.get("/login")
async def login_page(request: Request) -> Response:
    """The sign-in form; an anonymous session is started so that the form carries a CSRF token."""
    session = current_session(request)
    if session is not None and session.user is not None:
        return redirect(request, "/")
    token = None
    if session is None:
        token, session = console_state(request).accounts.new_session(None)
    response = render(request, "login.html", session, anonymous=session)
    if token is not None:
        set_session_cookie(request, response, token)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the password; on success a new session replaces the anonymous one (no fixation)."""
    state = console_state(request)
    anonymous = current_session(request)
    form = await checked_form(request, anonymous)
    assert anonymous is not None
    name = text(form, "name").strip()
    try:
        state.accounts.authenticate(name, text(form, "password"))
    except Unauthorized as exc:
        return render(request, "login.html", anonymous, status=401, anonymous=anonymous, error=exc.message)
    state.accounts.end_session(anonymous)
    token, _ = state.accounts.new_session(name)
    state.audit.append("signed_in", name, "console")
    response = redirect(request, "/")
    set_session_cookie(request, response, token)
    return response


@router.post("/logout")
async def logout(request: Request, post: Annotated[Posted, Depends(posted)]) -> Response:
    """End the session server-side and clear the cookie."""
    console_state(request).accounts.end_session(post.session)
    response = redirect(request, "/login")
    response.delete_cookie(COOKIE, path=request.scope.get("root_path", "") or "/")
    return response


@router.get("/")
async def home(request: Request, session: Annotated[Session, Depends(viewer)]) -> Response:
    """What is live now and what waits for a decision."""
    state = console_state(request)
    store = state.serve.store
    pending = [c for c in state.desk.changes() if c.status == "pending"]
    return render(
        request,
        "home.html",
        session,
        rules_version=state.serve.rules.live.version,
        model_version=await store.current_version(),
        previous_version=await store.previous_version(),
        pending=pending,
    )
