"""Every emitted feed, in every language, passes ../shared/checks/check_feed.sh: feedparser,
newsboat and rss2email read it and agree on every item (Cyrillic and Albanian text included).

The readers come from Debian (`bash ../shared/checks/setup.sh`, run by `.ci/setup test`).
Without them the test fails and says how to install them (the README's test command does).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from publisher.feeds import build_feeds
from publisher.settings import load_settings
from publisher.store import Store

from .conftest import SHARED
from .test_feeds import SQ_TITLE, populate
from .test_web_feeds import serve

CHECK = SHARED / "checks" / "check_feed.sh"
EVAL_VENV = Path(os.environ.get("EVAL_VENV", "/tmp/evalvenv"))


def _readers_missing() -> str | None:
    if not CHECK.is_file():
        return f"{CHECK} is missing"
    if not (EVAL_VENV / "bin" / "python").exists():
        return f"no venv at {EVAL_VENV}: run `bash {SHARED}/checks/setup.sh`"
    for tool in ("newsboat", "r2e"):
        if not any((Path(d) / tool).exists() for d in os.environ.get("PATH", "").split(os.pathsep)):
            return f"{tool} is not installed: run `bash {SHARED}/checks/setup.sh`"
    return None


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    missing = _readers_missing()
    if missing:
        pytest.fail(missing)
    root = tmp_path_factory.mktemp("readers")
    url = f"sqlite:///{root / 'publisher.db'}"
    (root / "settings.toml").write_text(
        f'[store]\nurl = "{url}"\n[feeds]\noutput_dir = "public"\n[[sources]]\nname = "inbox"\n'
        'type = "directory"\npath = "inbox"\n', encoding="utf-8")
    settings = load_settings(root / "settings.toml", environ={})
    store = Store.upgraded(url)
    populate(store)
    build_feeds(settings, store)
    store.close()
    return settings


def _check(target: str, lang: str, min_items: int) -> str:
    env = {**os.environ, "EXPECT_LANG": lang, "MIN_ITEMS": str(min_items), "EVAL_VENV": str(EVAL_VENV)}
    result = subprocess.run(["bash", str(CHECK), target], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERDICT: PASS" in result.stdout
    return result.stdout


@pytest.mark.parametrize("kind", ["rss", "atom"])
@pytest.mark.parametrize(("lang", "items"), [("mk", 3), ("en", 2), ("sq", 1)])
def test_every_feed_passes_the_third_party_readers(built, lang, kind, items):
    output = _check(str(built.feeds.output_dir / built.feeds.path(kind, lang)), lang, items)
    # feedparser and newsboat list every item, rss2email mailed each one
    assert output.count("  item: ") == 2 * items and output.count("  mail: ") == items
    if lang == "sq":
        assert SQ_TITLE[:40] in output  # ë and ç came through every reader
    if lang == "mk":
        assert "ИОМ организираше" in output


def test_served_feed_passes_the_readers(built):
    from publisher.web.app import create_app

    with serve(create_app(built)) as base:
        _check(f"{base}/feeds/sq/atom.xml", "sq", 1)
