"""CLI: publisher web (the web app alone; it never sends mail but the staff test send) and
publisher users add/list/password/set-role/disable/enable/remove (staff logins for the web pages; a new
password or disabling a user ends every session of that user). Every users change is written
to the audit log as the actor ``cli:<login name>``."""

from __future__ import annotations

import getpass
import sys
from typing import Any

import click

from .cli_common import _app, _dump, err, esc, handle_errors, json_option, out, settings_option
from .errors import PublisherError
from .store.users import STAFF_ROLES

ROLES = list(STAFF_ROLES)


@click.command("web")
@settings_option
@click.option("--host", default=None, help="Address to listen on (default: [web] host).")
@click.option("--port", default=None, type=int, help="Port (default: [web] port).")
@click.pass_context
@handle_errors
def web(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the web app alone (feeds, public and staff pages, API) until Ctrl-C. It queues
    messages; the service (`publisher run`) sends them."""
    import uvicorn

    from .web.app import create_app
    from .web.options import uvicorn_options

    app = _app(ctx)
    options = app.settings.web
    host, port = host or options.host, port or options.port
    err.print(f"serving on http://{esc(host)}:{port}/ (staff: /staff/)", highlight=False)
    uvicorn.run(create_app(app.settings, app), host=host, port=port, log_level="warning",
                **uvicorn_options(options))  # X-Forwarded-For only from [web] forwarded_allow_ips


@click.group()
def users() -> None:
    """Staff users who log in to the web pages."""


@users.command("add")
@settings_option
@click.argument("name")
@click.option("--email", default=None, help="Where 'test send to me' goes.")
@click.option("--role", type=click.Choice(ROLES), default="admin", show_default=True,
              help="admin: everything; editor: review, edit, approve, languages, quarantine; sender: sending.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (else one is made).")
@click.pass_context
@handle_errors
def users_add(ctx: click.Context, name: str, email: str | None, role: str, password_stdin: bool) -> None:
    """Add a staff user; without --password-stdin a password is generated and printed once."""
    from .subscriptions import normalise_email
    from .web.security import hash_password

    password, generated = _read_password(password_stdin)
    app = _app(ctx)
    user = app.store.add_staff_user(name, hash_password(password), normalise_email(email) if email else None,
                                    role=role)
    _audit(app, "users-add", user.name, {"role": user.role, "email": user.email})
    app.close()
    err.print(f"staff user {esc(user.name)} added ({user.role})", highlight=False)
    if generated:
        out.print(f"password: {esc(password)}", highlight=False)


def _audit(app: Any, action: str, name: str, detail: dict[str, Any] | None = None) -> None:
    """A users change in the audit log, by the person at the terminal."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    app.store.add_audit(f"cli:{who}", action, f"user {name}", detail)


def _read_password(password_stdin: bool) -> tuple[str, bool]:
    """(password, generated?): from standard input, else a generated one."""
    from .web.security import generate_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if len(password) < 10:
            raise PublisherError("the password must have at least 10 characters")
        return password, False
    return generate_password(), True


@users.command("password")
@settings_option
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input (else one is made).")
@click.pass_context
@handle_errors
def users_password(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set a new password; every session of the user ends (they log in again)."""
    from .web.security import hash_password

    password, generated = _read_password(password_stdin)
    app = _app(ctx)
    user = app.store.set_staff_password(name, hash_password(password))
    _audit(app, "users-password", user.name)
    app.close()
    err.print(f"new password for {esc(user.name)}; their sessions have ended", highlight=False)
    if generated:
        out.print(f"password: {esc(password)}", highlight=False)


@users.command("disable")
@settings_option
@click.argument("name")
@click.pass_context
@handle_errors
def users_disable(ctx: click.Context, name: str) -> None:
    """Refuse the user's logins from now on and end every session of the user."""
    app = _app(ctx)
    user = app.store.set_staff_active(name, False)
    _audit(app, "users-disable", user.name)
    app.close()
    err.print(f"staff user {esc(user.name)} disabled; their sessions have ended", highlight=False)


@users.command("enable")
@settings_option
@click.argument("name")
@click.pass_context
@handle_errors
def users_enable(ctx: click.Context, name: str) -> None:
    """Let a disabled user log in again (with their password)."""
    app = _app(ctx)
    user = app.store.set_staff_active(name, True)
    _audit(app, "users-enable", user.name)
    app.close()
    err.print(f"staff user {esc(user.name)} enabled", highlight=False)


@users.command("remove")
@settings_option
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask.")
@click.pass_context
@handle_errors
def users_remove(ctx: click.Context, name: str, yes: bool) -> None:
    """Delete a staff user (their sessions end). The audit log keeps what they did, by name;
    `disable` keeps the user and refuses their logins instead."""
    if not yes:
        click.confirm(f"delete staff user {name!r}?", abort=True)
    app = _app(ctx)
    user = app.store.remove_staff_user(name)
    _audit(app, "users-remove", user.name, {"role": user.role})
    app.close()
    err.print(f"staff user {esc(user.name)} removed", highlight=False)


@users.command("set-role")
@settings_option
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
@click.pass_context
@handle_errors
def users_set_role(ctx: click.Context, name: str, role: str) -> None:
    """Give a user another role (admin, editor, sender); it applies from their next request."""
    app = _app(ctx)
    before = app.store.get_staff_user(name.strip())
    user = app.store.set_staff_role(name, role)
    _audit(app, "users-set-role", user.name, {"role": user.role, "was": before.role if before else None})
    app.close()
    err.print(f"staff user {esc(user.name)} is now {user.role}", highlight=False)


@users.command("list")
@settings_option
@json_option
@click.pass_context
@handle_errors
def users_list(ctx: click.Context, as_json: bool) -> None:
    """Staff users, their role and their last login."""
    app = _app(ctx)
    rows = [{"name": u.name, "role": u.role, "email": u.email, "active": u.active,
             "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None}
            for u in app.store.list_staff_users()]
    app.close()
    if as_json:
        _dump(rows)
        return
    for row in rows:
        state = "" if row["active"] else "  (disabled)"
        out.print(f"{esc(row['name'])}  {row['role']}  {esc(row['email'] or '-')}  "
                  f"last login: {esc(row['last_login_at'] or 'never')}{state}", highlight=False)
