"""Security: no page or action without a session, CSRF on every form, four eyes on rules changes, an
audit log that cannot be edited through the console and whose tampering is detected."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Mount

from engine.console import (
    AuditLog,
    ConsoleConfig,
    ConsoleDB,
    pages_analysis,
    pages_auth,
    pages_changes,
    pages_ops,
    pages_rules,
    verify_chain,
)
from tests.console.conftest import PASSWORD, csrf_of, sign_in

PAGES = ["/", "/rules", "/changes", "/audit", "/members", "/budget", "/experiments", "/models"]


def _console_routes(app: FastAPI) -> list[APIRoute]:
    """Every route of the console's routers (the app mounted at /console includes exactly these)."""
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/console")
    assert isinstance(mount.app, FastAPI)
    modules = (pages_auth, pages_rules, pages_changes, pages_ops, pages_analysis)
    return [r for m in modules for r in m.router.routes if isinstance(r, APIRoute)]


def _concrete(path: str) -> str:
    return (
        path.replace("{change_id}", "1")
        .replace("{name}", "star_challenge_v1")
        .replace("{version}", "v2")
        .replace("{file}", "effects.png")
    )


def test_no_page_or_action_without_a_session(client: httpx.Client, console_app: FastAPI) -> None:
    for path in PAGES:
        answer = client.get(f"/console{path}", follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/console/login", path
    routes = _console_routes(console_app)
    posts = [r for r in routes if "POST" in r.methods and r.path != "/login"]
    gets = [r for r in routes if "GET" in r.methods and r.path != "/login"]
    assert len(posts) >= 10
    assert len(gets) >= len(PAGES)
    for route in posts:
        answer = client.post(f"/console{_concrete(route.path)}", data={"text": "x"}, follow_redirects=False)
        assert answer.status_code == 401, route.path
    for route in gets:
        answer = client.get(f"/console{_concrete(route.path)}", follow_redirects=False)
        assert answer.status_code in (303, 401), route.path
    # a forged cookie is no session either
    client.cookies.set("offers_console", "forged", path="/console")
    assert client.get("/console/rules", follow_redirects=False).status_code == 303


def test_api_keys_are_not_console_logins(client: httpx.Client) -> None:
    answer = client.get("/console/rules", headers={"X-API-Key": "test-admin-key"}, follow_redirects=False)
    assert answer.status_code == 303


def test_forms_without_their_csrf_token_are_refused(client: httpx.Client) -> None:
    token = sign_in(client, "alice")
    for path, data in [
        ("/rules/draft", {"text": "x = 1"}),
        ("/rules/validate", {"text": "x = 1"}),
        ("/rules/submit", {}),
        ("/logout", {}),
    ]:
        refused = client.post(f"/console{path}", data=data, follow_redirects=False)
        assert refused.status_code == 403, path
        assert "CSRF" in refused.text, path
        wrong = client.post(
            f"/console{path}", data={**data, "csrf_token": token[:-2] + "xx"}, follow_redirects=False
        )
        assert wrong.status_code == 403, path
    # the draft was not saved by any of the refused posts; with the token it is
    assert "x = 1" not in client.get("/console/rules").text
    ok = client.post(
        "/console/rules/draft", data={"text": "x = 1", "csrf_token": token}, follow_redirects=False
    )
    assert ok.status_code == 303
    # htmx sends the token in a header
    fragment = client.post("/console/rules/validate", data={"text": "x = 1"}, headers={"X-CSRF-Token": token})
    assert fragment.status_code == 200
    assert "invalid rules" in fragment.text


def test_sign_in_itself_needs_the_login_forms_token(client: httpx.Client) -> None:
    client.get("/console/login")
    answer = client.post(
        "/console/login", data={"name": "alice", "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 403


def test_session_cookie_flags_and_logout(client: httpx.Client) -> None:
    page = client.get("/console/login")
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/console" in cookie
    token = sign_in(client, "ana")
    assert client.get("/console/rules", follow_redirects=False).status_code == 200
    client.post("/console/logout", data={"csrf_token": token}, follow_redirects=False)
    assert client.get("/console/rules", follow_redirects=False).status_code == 303


def test_failed_sign_ins_lock_the_user(client: httpx.Client, console_config: ConsoleConfig) -> None:
    for _ in range(console_config.max_failed_logins):
        page = client.get("/console/login")
        bad = client.post(
            "/console/login",
            data={"name": "bob", "password": "wrong password!", "csrf_token": csrf_of(page.text)},
        )
        assert bad.status_code == 401
        assert "wrong user name or password" in bad.text
    page = client.get("/console/login")
    locked = client.post(
        "/console/login", data={"name": "bob", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert locked.status_code == 401
    assert "locked" in locked.text


def _submit_change(client: httpx.Client, token: str, rules_path: Path) -> None:
    text = rules_path.read_text().replace("max_reward_share = 0.5", "max_reward_share = 0.4")
    client.post("/console/rules/draft", data={"text": text, "csrf_token": token})
    answer = client.post("/console/rules/submit", data={"csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def test_a_marketer_cannot_approve_their_own_change(client: httpx.Client, rules_path: Path) -> None:
    token = sign_in(client, "alice")
    _submit_change(client, token, rules_path)
    own = client.post("/console/changes/1/approve", data={"csrf_token": token}, follow_redirects=False)
    assert own.status_code == 403
    assert "their own change" in own.text
    assert "max_reward_share = 0.5" in rules_path.read_text()
    # an analyst cannot approve at all
    token = sign_in(client, "ana")
    assert client.post("/console/changes/1/approve", data={"csrf_token": token}).status_code == 403
    # a second marketer can; the rules file is then the approved text
    token = sign_in(client, "bob")
    ok = client.post("/console/changes/1/approve", data={"csrf_token": token}, follow_redirects=False)
    assert ok.status_code == 303
    assert "max_reward_share = 0.4" in rules_path.read_text()
    again = client.post("/console/changes/1/approve", data={"csrf_token": token}, follow_redirects=False)
    assert again.status_code == 409


def test_analysts_cannot_edit_rules_or_promote_models(client: httpx.Client) -> None:
    token = sign_in(client, "ana")
    assert client.post("/console/rules/draft", data={"text": "x", "csrf_token": token}).status_code == 403
    assert client.post("/console/models/v2/promote", data={"csrf_token": token}).status_code == 403
    token = sign_in(client, "alice")
    assert client.post("/console/models/rollback", data={"csrf_token": token}).status_code == 403


def test_the_audit_log_cannot_be_edited_through_the_console(
    client: httpx.Client, console_app: FastAPI, rules_path: Path, console_config: ConsoleConfig
) -> None:
    token = sign_in(client, "alice")
    _submit_change(client, token, rules_path)
    # no route writes to the audit log other than by appending through a workflow
    for route in _console_routes(console_app):
        assert "audit" not in route.path or route.methods == {"GET"}, route.path
        assert not ({"PUT", "PATCH", "DELETE"} & route.methods), route.path
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        answer = client.request(method, "/console/audit", data={"csrf_token": token})
        assert answer.status_code == 405, method
    # the table itself refuses updates and deletes
    conn = sqlite3.connect(console_config.database)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit SET actor = 'mallory'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit")
    conn.close()


def test_tampering_with_the_audit_log_is_detected(tmp_path: Path) -> None:
    db = ConsoleDB(tmp_path / "audit.sqlite3")
    log = AuditLog(db)
    for i in range(4):
        log.append("rules_published", "alice", f"change {i}", approver="bob", diff=f"-a\n+b{i}\n")
    assert verify_chain(log) == []
    conn = sqlite3.connect(tmp_path / "audit.sqlite3")
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET approver = 'alice' WHERE seq = 2")
    conn.commit()
    assert verify_chain(log) == ["entry 2: its content does not match its hash (edited)"]
    conn.execute("DROP TRIGGER audit_no_delete")
    conn.execute("DELETE FROM audit WHERE seq = 3")
    conn.commit()
    problems = verify_chain(log)
    assert any(("entry 4" in p) & ("missing" in p) for p in problems)
    conn.close()
    db.close()
