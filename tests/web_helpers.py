"""Shared by the web tests: a site with a migrated store, the web app on it, a logged-in staff client."""

from __future__ import annotations

import re
import warnings

with warnings.catch_warnings():  # Starlette 1.x suggests httpx2; the httpx client is what this project uses
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from publisher.app import App
from publisher.web.app import create_app
from publisher.web.security import hash_password

BASE = "http://127.0.0.1:8080"
PASSWORD = "correct horse battery staple"


def make_web(site, extra: str = ""):
    site.write(extra + """
""")
    app = App(site.settings())
    return app, create_app(app.settings, app)


def client(web_app) -> TestClient:
    return TestClient(web_app, base_url=BASE, follow_redirects=False)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def add_staff(app: App, name: str = "ana", email: str | None = "ana@example.org", role: str = "admin"):
    return app.store.add_staff_user(name, hash_password(PASSWORD), email, role=role)


def login(c: TestClient, name: str = "ana", password: str = PASSWORD):
    page = c.get("/staff/login")
    return c.post("/staff/login", data={"csrf_token": csrf_of(page.text), "name": name, "password": password,
                                        "next": "/staff/"})
