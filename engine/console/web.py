"""The console's request plumbing: sessions from the cookie, CSRF on every POST, templates, errors.

- :func:`viewer` (GET pages): the signed-in session, else :class:`~engine.errors.Unauthorized`, which
  the error handler turns into a redirect to the sign-in page (a 401 for htmx and POST requests).
- :func:`posted` (every POST): the session and the form, after checking the synchronizer CSRF token
  (form field ``csrf_token`` or header ``X-CSRF-Token``, which htmx sends from ``hx-headers``).
- Every answer carries a strict Content-Security-Policy (only the console's own script and styles).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NamedTuple

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from engine.console.accounts import Session, csrf_matches
from engine.console.state import ConsoleState
from engine.errors import Forbidden, OfferEngineError, Unauthorized

COOKIE = "offers_console"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Posted(NamedTuple):
    """A POST that passed the session and CSRF checks."""

    session: Session
    form: FormData


def console_state(request: Request) -> ConsoleState:
    """The console's state attached to its app."""
    state: ConsoleState = request.app.state.console
    return state


def current_session(request: Request) -> Session | None:
    """The request's live session (signed in or not), or None."""
    return console_state(request).accounts.session(request.cookies.get(COOKIE))


def viewer(request: Request) -> Session:
    """The signed-in session; :class:`Unauthorized` without one."""
    session = current_session(request)
    if session is None or session.user is None:
        raise Unauthorized("sign in first")
    return session


def requires_role(session: Session, *roles: str) -> None:
    """:class:`Forbidden` unless the session's role is one of ``roles``."""
    if session.role not in roles:
        raise Forbidden(f"this needs the {' or '.join(roles)} role (you are {session.role})")


async def checked_form(request: Request, session: Session | None) -> FormData:
    """The POSTed form once its CSRF token matched the session's; :class:`Forbidden` otherwise."""
    form = await request.form()
    sent = request.headers.get(CSRF_HEADER)
    field = form.get(CSRF_FIELD)
    if sent is None and isinstance(field, str):
        sent = field
    if session is None or not csrf_matches(session, sent):
        raise Forbidden("missing or wrong CSRF token: reload the page and try again")
    return form


async def posted(request: Request) -> Posted:
    """A signed-in POST with its CSRF token checked."""
    session = current_session(request)
    if session is None or session.user is None:
        raise Unauthorized("sign in first")
    return Posted(session, await checked_form(request, session))


def text(form: FormData, name: str, default: str = "") -> str:
    """A text field of a form."""
    value = form.get(name)
    return value if isinstance(value, str) else default


def render(
    request: Request, template: str, session: Session | None, status: int = 200, **ctx: Any
) -> Response:
    """A page or fragment from ``templates/``."""
    state = console_state(request)
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"session": session, "root": request.scope.get("root_path", ""), "config": state.config, **ctx},
        status_code=status,
    )


def redirect(request: Request, path: str) -> Response:
    """303 to a console path (after a POST, so a reload does not post again)."""
    return RedirectResponse(request.scope.get("root_path", "") + path, status_code=303)


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """The session cookie: HttpOnly, SameSite and Secure as configured, scoped to the console's path."""
    config = console_state(request).config
    response.set_cookie(
        COOKIE,
        token,
        max_age=config.session_ttl_s,
        path=request.scope.get("root_path", "") or "/",
        httponly=True,
        samesite=config.cookie_samesite,
        secure=config.cookie_secure,
    )


async def error_page(request: Request, exc: Exception) -> Response:
    """Any engine error as a page (or an htmx fragment); unsigned GETs go to the sign-in page."""
    assert isinstance(exc, OfferEngineError)
    if isinstance(exc, Unauthorized) and request.method == "GET" and "HX-Request" not in request.headers:
        return redirect(request, "/login")
    session = current_session(request)
    template = "fragments/error.html" if "HX-Request" in request.headers else "error.html"
    response = render(
        request, template, session, status=exc.http_status, error=type(exc).__name__, message=exc.message
    )
    if "HX-Request" in request.headers:
        # htmx swaps 2xx answers only: the error shows where the fragment would go; the status travels
        # in a header of its own.
        response.headers["X-Console-Status"] = str(exc.http_status)
        response.status_code = 200
    return response


def security_headers() -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """Middleware adding :data:`SECURITY_HEADERS` to every answer."""

    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return middleware
