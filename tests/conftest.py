"""Shared fixtures: real SQLite and PostgreSQL stores, settings files, the sample release.

PostgreSQL: the server on 127.0.0.1:5432 (trust auth). Each test session creates its own
database (publisher_test_<pid>) and drops it at the end; each test gets empty tables.
Set PUBLISHER_TEST_PG_URL to use another server; PUBLISHER_TEST_NO_PG=1 to skip only if you
really have none (CI never sets it).
"""

from __future__ import annotations

import os
import shutil
import textwrap
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from publisher.settings import Settings, load_settings
from publisher.store import Store
from publisher.store.schema import Base

HERE = Path(__file__).parent
SAMPLE = HERE / "data" / "iom-border-chiefs-meeting.mk.txt"
SHARED = HERE.parent.parent / "shared"
PG_ADMIN_URL = os.environ.get("PUBLISHER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

# Macedonian news paragraphs for sources served in tests (long enough for extraction and language id)
P1 = (
    "Меѓународната организација за миграции (ИОМ) го организираше регионалниот состанок со "
    "шефовите на граничните полиции од земјите на Западен Балкан. Учествуваа делегации на високо "
    "ниво од службите за гранични работи."
)
P2 = (
    "Средбата беше организирана во рамките на регионалните проекти за зајакнување на капацитетите "
    "за реадмисија во земјите од Западен Балкан, финансирани од Министерството за надворешни "
    "работи на Данска."
)
P3 = (
    "Регионалната соработка и координација се клучни за справување со идентификуваните предизвици "
    "и промовирање на функционални, ефективни и интегрирани системи на гранично управување."
)
P4 = (
    "Во земјите од Западен Балкан, ИОМ продолжува со имплементација на програми, поддршка за "
    "политиките, дијалогот и иницијативите за зајакнување на капацитетите според потребите."
)

SAMPLE_TITLE = (
    "ИОМ организираше состанок со шефовите на службите за гранични работи од земјите на Западен Балкан"
)


@pytest.fixture(scope="session")
def pg_database() -> str:
    """A fresh PostgreSQL database for this test session, migrated to head."""
    name = f"publisher_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    store = Store.upgraded(url)
    store.close()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(store: Store) -> None:
    with store.engine.begin() as conn:
        tables = ", ".join(Base.metadata.tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database URL: each test runs once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'publisher.db'}"
        Store.upgraded(url).close()
        return url
    url = request.getfixturevalue("pg_database")
    store = Store(url)
    _truncate(store)
    store.close()
    return url


@pytest.fixture
def store(db_url: str) -> Store:
    s = Store(db_url)
    yield s
    s.close()


@pytest.fixture
def site(tmp_path: Path, db_url: str):
    """A site folder with settings.toml, an inbox holding the sample, and a migrated store.

    Returns a small helper object: .dir, .inbox, .settings_file, .settings(), .write(extra).
    """
    return Site(tmp_path / "site", db_url)


class Site:
    def __init__(self, root: Path, db_url: str):
        self.dir = root
        self.inbox = root / "inbox"
        self.inbox.mkdir(parents=True)
        self.db_url = db_url
        self.settings_file = root / "settings.toml"
        self.write()

    def write(self, extra: str = "", sources: str | None = None) -> None:
        if sources is None:
            sources = textwrap.dedent(
                """
                [[sources]]
                name = "inbox"
                type = "directory"
                path = "inbox"
                settle_seconds = 0
                """
            )
        self.settings_file.write_text(
            textwrap.dedent(
                f"""
                [site]
                name = "IOM North Macedonia"
                base_url = "http://127.0.0.1:8080"
                source_language = "mk"
                target_languages = ["en", "sq"]
                timezone = "Europe/Skopje"

                [store]
                url = "{self.db_url}"

                [http]
                per_host_interval_seconds = 0
                timeout_seconds = 5
                """
            )
            + textwrap.dedent(extra)
            + sources,
            encoding="utf-8",
        )

    def settings(self) -> Settings:
        return load_settings(self.settings_file, environ={})

    def drop_sample(self, name: str = "iom-border-chiefs-meeting.mk.txt") -> Path:
        target = self.inbox / name
        shutil.copy(SAMPLE, target)
        return target


@pytest.fixture
def ingest():
    """Run one ingest with the site's current settings; returns (report, app). Apps are closed
    at the end of the test."""
    from publisher.app import App

    apps = []

    def run(site):
        apps.append(App(site.settings()))
        return apps[-1].ingest(), apps[-1]

    yield run
    for app in apps:
        app.close()


def paths(httpserver) -> list[str]:
    """The paths a pytest-httpserver was asked for, in order."""
    return [request.path for request, _ in httpserver.log]
