"""publisher.settings.load_settings: defaults, the file format, errors, environment, paths."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from publisher.errors import ConfigError
from publisher.settings import (
    DirectorySourceOptions,
    FeedSourceOptions,
    WebpageSourceOptions,
    load_settings,
    masked_dump,
)

FULL = """\
[site]
name = "ИОМ Северна Македонија"
base_url = "https://news.example.mk/"
source_language = "mk"
target_languages = ["en", "sq"]
timezone = "Europe/Skopje"

[store]
url = "sqlite:///var/publisher.db"
echo = false

[cleaning]
boilerplate_lines = ["Треба да знаете", "Последни објави"]
boilerplate_patterns = ['^Сподели( на)?:?$']
detect_language = true
detector_languages = ["mk", "bg", "sr", "en", "sq"]

[ingest]
quarantine_dir = "var/quarantine"
max_bytes = 1000000

[http]
user_agent = "publisher-test/1.0"
timeout_seconds = 10
per_host_interval_seconds = 0.5
max_redirects = 3

[[sources]]
name = "inbox"
type = "directory"
path = "inbox"
patterns = ["*.txt", "*.md"]
recursive = false
settle_seconds = 5
language = "mk"
boilerplate_lines = ["Печати"]

[[sources]]
name = "iom-feed"
type = "feed"
url = "https://northmacedonia.iom.int/rss.xml"
full_text = "link"
min_entry_chars = 200
enabled = false

[[sources]]
name = "iom-news"
type = "webpage"
url = "https://northmacedonia.iom.int/news"
link_selector = "article h2 a"
max_articles = 10
same_host_only = true
max_bytes = 200000
"""


def write(folder: Path, text: str, name: str = "settings.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(folder: Path, text: str, environ: dict[str, str] | None = None) -> str:
    path = write(folder, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ=environ or {})
    message = str(info.value)
    assert str(path) in message
    return message


# ----------------------------------------------------------------------------- defaults and format


def test_defaults_load_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUBLISHER_SETTINGS", str(tmp_path / "nowhere.toml"))  # environ={} wins
    settings = load_settings(environ={})
    assert settings.settings_file is None and settings.base_dir == tmp_path
    assert settings.site.source_language == "mk" and settings.site.target_languages == ["en", "sq"]
    assert settings.site.languages == ["mk", "en", "sq"]
    assert str(settings.site.zone) == "Europe/Skopje"
    assert settings.store.url == f"sqlite:///{tmp_path / 'var' / 'publisher.db'}"
    assert settings.ingest.quarantine_dir == tmp_path / "var" / "quarantine"
    assert settings.ingest.max_bytes == 5_000_000
    [source] = settings.sources
    assert isinstance(source, DirectorySourceOptions)
    assert (source.name, source.path, source.recursive) == ("inbox", tmp_path / "inbox", False)
    assert "Треба да знаете" in settings.cleaning.boilerplate_lines


def test_settings_toml_in_the_cwd_is_found(tmp_path, monkeypatch):
    write(tmp_path, '[site]\nname = "Од тековната папка"\n')
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.site.name == "Од тековната папка"
    assert settings.settings_file == tmp_path / "settings.toml"


def test_publisher_settings_variable_names_the_file(tmp_path, monkeypatch):
    path = write(tmp_path / "conf", '[site]\nname = "Од променлива"\n', name="site.toml")
    monkeypatch.chdir(tmp_path)
    assert load_settings(environ={"PUBLISHER_SETTINGS": str(path)}).site.name == "Од променлива"


def test_full_format_loads(tmp_path):
    settings = load_settings(write(tmp_path, FULL), environ={})
    assert settings.site.name == "ИОМ Северна Македонија"
    assert settings.site.base_url == "https://news.example.mk"  # trailing slash dropped
    assert settings.cleaning.detector_languages == ["mk", "bg", "sr", "en", "sq"]
    assert settings.http.max_redirects == 3 and settings.http.timeout_seconds == 10.0
    inbox, feed, web = settings.sources
    assert isinstance(inbox, DirectorySourceOptions) and inbox.settle_seconds == 5
    assert inbox.patterns == ["*.txt", "*.md"] and inbox.boilerplate_lines == ["Печати"]
    assert isinstance(feed, FeedSourceOptions) and feed.full_text == "link" and not feed.enabled
    assert isinstance(web, WebpageSourceOptions) and web.link_selector == "article h2 a"
    assert web.max_bytes == 200000
    assert settings.source("iom-news") is web
    with pytest.raises(ConfigError, match="'nope'.*inbox, iom-feed, iom-news"):
        settings.source("nope")


def test_language_codes_are_normalised(tmp_path):
    settings = load_settings(write(tmp_path, '[site]\nsource_language = "MK"\ntarget_languages = ["en-GB", "alb"]\n'),
                             environ={})
    assert settings.site.source_language == "mk" and settings.site.target_languages == ["en", "sq"]


# ----------------------------------------------------------------------------- unknown keys


@pytest.mark.parametrize(
    ("text", "key", "allowed"),
    [
        ('[sites]\nname = "x"\n', "sites", ["site", "store", "cleaning", "ingest", "http", "sources"]),
        ('[site]\nnmae = "x"\n', "nmae", ["name", "base_url", "source_language", "target_languages", "timezone"]),
        ('[store]\npassword = "x"\n', "password", ["url", "echo"]),
        ('[[sources]]\nname = "inbox"\ntype = "directory"\npath = "inbox"\nrecursve = true\n', "recursve",
         ["recursive", "settle_seconds", "patterns", "path"]),
        ('[[sources]]\nname = "f"\ntype = "feed"\nurl = "https://x.mk/rss"\nlink_selector = "a"\n', "link_selector",
         ["full_text", "min_entry_chars", "url"]),
    ],
)
def test_unknown_keys_are_named_with_the_allowed_keys(tmp_path, text, key, allowed):
    message = error_of(tmp_path, text)
    assert f"{key}: unknown key" in message
    listed = message.split("allowed keys here:", 1)[1]
    for name in allowed:
        assert name in listed
    assert "base_dir" not in listed and "settings_file" not in listed


# ----------------------------------------------------------------------------- bad values


SRC = '[[sources]]\nname = "inbox"\ntype = "directory"\npath = "inbox"\n'


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ('[site]\nsource_language = "xx"\n', "source_language", "'xx'"),
        ('[site]\ntarget_languages = ["en", "xx"]\n', "target_languages", "'xx'"),
        ('[cleaning]\ndetector_languages = ["mk", "klingon"]\n', "detector_languages", "'klingon'"),
        ('[site]\ntimezone = "Europe/Skopie"\n', "timezone", "'Europe/Skopie'"),
        ("[cleaning]\nboilerplate_patterns = ['(Сподели']\n", "boilerplate_patterns", "'(Сподели'"),
        (SRC + "boilerplate_patterns = ['[a-']\n", "boilerplate_patterns", "'[a-'"),
        ('[[sources]]\nname = "w"\ntype = "webpage"\nurl = "https://x.mk/"\nlink_selector = "a[[["\n',
         "link_selector", "'a[[['"),
        ('[[sources]]\nname = "x"\ntype = "ftp"\nurl = "ftp://x.mk/"\n', "type", "'ftp'"),
        (SRC + SRC.replace('"inbox"\n', '"other"\n', 1).replace('name = "other"', 'name = "inbox"'),
         "sources", "'inbox'"),
        ('[site]\nsource_language = "en"\ntarget_languages = ["sq", "en"]\n', "target_languages", "'en'"),
        ('[store]\nurl = "mysql://root@localhost/pub"\n', "url", "'mysql://root@localhost/pub'"),
        ('[store]\nurl = "publisher.db"\n', "url", "'publisher.db'"),
        ('[ingest]\nmax_bytes = 0\n', "max_bytes", "0"),
        ('[http]\ntimeout_seconds = "soon"\n', "timeout_seconds", "'soon'"),
        (SRC + 'settle_seconds = -1\n', "settle_seconds", "-1"),
        ('[[sources]]\nname = "Inbox Folder"\ntype = "directory"\npath = "inbox"\n', "name", "'Inbox Folder'"),
        ('[site]\nbase_url = "news.example.mk"\n', "base_url", "'news.example.mk'"),
    ],
)
def test_bad_values_name_the_key_and_the_value(tmp_path, text, key, value):
    message = error_of(tmp_path, text)
    assert key in message and value in message, message


def test_missing_required_source_keys(tmp_path):
    assert "path: required key is missing" in error_of(tmp_path, '[[sources]]\nname = "a"\ntype = "directory"\n')
    message = error_of(tmp_path, '[[sources]]\nname = "a"\npath = "inbox"\n')
    assert "type" in message and "'directory', 'feed', 'webpage'" in message


def test_every_problem_is_reported_at_once(tmp_path):
    message = error_of(tmp_path, '[site]\nnmae = "x"\ntimezone = "Nowhere"\n[store]\nurl = "x"\n')
    assert "3 problem(s)" in message
    assert "nmae" in message and "'Nowhere'" in message and "url = 'x'" in message


# ----------------------------------------------------------------------------- environment


def test_environment_overrides(tmp_path):
    path = write(tmp_path, FULL)
    settings = load_settings(path, environ={
        "PUBLISHER_SITE__NAME": "Од околината",
        "PUBLISHER_SITE__TARGET_LANGUAGES": '["en"]',
        "PUBLISHER_STORE__URL": "postgresql://pub@db.example:5432/pub",
        "PUBLISHER_SOURCES__INBOX__RECURSIVE": "true",
        "PUBLISHER_SOURCES__IOM-FEED__ENABLED": "true",
        "PUBLISHER_HTTP__MAX_REDIRECTS": "7",
        "OTHER_SITE__NAME": "ignored",
        "PUBLISHER_SITE": "ignored: no __",
    })
    assert settings.site.name == "Од околината"
    assert settings.site.target_languages == ["en"]
    assert settings.store.url == "postgresql+psycopg://pub@db.example:5432/pub"
    assert settings.source("inbox").recursive is True
    assert settings.source("iom-feed").enabled is True
    assert settings.http.max_redirects == 7
    assert settings.site.timezone == "Europe/Skopje"  # the rest of the file is kept


def test_environment_overrides_the_default_source(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={"PUBLISHER_SOURCES__INBOX__RECURSIVE": "true"})
    assert settings.source("inbox").recursive is True
    assert settings.source("inbox").path == tmp_path / "inbox"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"PUBLISHER_SOURCES__NOPE__RECURSIVE": "true"}, "no source named 'nope'"),
        ({"PUBLISHER_SOURCES__RECURSIVE": "true"}, "PUBLISHER_SOURCES__<SOURCE NAME>__<KEY>"),
        ({"PUBLISHER_SITE__TARGET_LANGUAGES": '["xx"]'}, "'xx'"),
        ({"PUBLISHER_SITE__COLOUR": "red"}, "colour: unknown key"),
        ({"PUBLISHER_SITE__NAME__FIRST": "x"}, "PUBLISHER_SITE__NAME__FIRST"),
    ],
)
def test_bad_environment_values_are_config_errors(tmp_path, environ, expected):
    path = write(tmp_path, FULL)
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ=environ)
    assert expected in str(info.value)


# ----------------------------------------------------------------------------- paths


def test_relative_paths_resolve_against_the_settings_folder(tmp_path, monkeypatch):
    site = tmp_path / "site"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    path = write(site, FULL + '\n[[sources]]\nname = "second"\ntype = "directory"\npath = "../drop"\n'
                 'quarantine_dir = "q"\n')
    monkeypatch.chdir(elsewhere)
    settings = load_settings(Path("..") / "site" / "settings.toml", environ={})
    assert settings.base_dir == site and settings.settings_file == path
    assert settings.source("inbox").path == site / "inbox"
    assert settings.source("second").path == site / ".." / "drop"
    assert settings.source("second").quarantine_dir == site / "q"
    assert settings.ingest.quarantine_dir == site / "var" / "quarantine"
    assert settings.store.url == f"sqlite:///{site / 'var' / 'publisher.db'}"
    # an sqlite URL given in the environment resolves against the same folder
    env = load_settings(path, environ={"PUBLISHER_STORE__URL": "sqlite:///data/p.db"})
    assert env.store.url == f"sqlite:///{site / 'data' / 'p.db'}"


def test_absolute_paths_and_memory_databases_are_kept(tmp_path):
    text = (f'[store]\nurl = "sqlite:///:memory:"\n[ingest]\nquarantine_dir = "{tmp_path / "abs-q"}"\n'
            f'[[sources]]\nname = "inbox"\ntype = "directory"\npath = "{tmp_path / "abs-inbox"}"\n')
    settings = load_settings(write(tmp_path / "site", text), environ={})
    assert settings.store.url == "sqlite:///:memory:"
    assert settings.ingest.quarantine_dir == tmp_path / "abs-q"
    assert settings.source("inbox").path == tmp_path / "abs-inbox"


# ----------------------------------------------------------------------------- masking, files


@pytest.mark.parametrize(
    "url",
    ["postgresql://publisher:s3cr%40t-pw@db.example:5432/pub", "postgresql+psycopg://:s3cr%40t-pw@db.example/pub"],
)
def test_masked_dump_hides_the_database_password(tmp_path, url):
    settings = load_settings(write(tmp_path, FULL), environ={"PUBLISHER_STORE__URL": url})
    assert "s3cr%40t-pw" in settings.store.url
    dump = masked_dump(settings)
    assert "s3cr" not in json.dumps(dump, ensure_ascii=False)
    assert dump["store"]["url"].startswith("postgresql+psycopg://")
    assert dump["store"]["url"].endswith("*****@db.example:5432/pub") or dump["store"]["url"].endswith(
        "*****@db.example/pub"
    )
    assert dump["site"]["name"] == "ИОМ Северна Македонија"
    assert dump["sources"][1]["url"] == "https://northmacedonia.iom.int/rss.xml"
    assert "base_dir" not in dump


def test_missing_settings_file_is_named(tmp_path):
    missing = tmp_path / "no" / "settings.toml"
    with pytest.raises(ConfigError) as info:
        load_settings(missing, environ={})
    assert str(missing) in str(info.value) and "does not exist" in str(info.value)
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(environ={"PUBLISHER_SETTINGS": str(missing)})


def test_invalid_toml_is_a_clear_error(tmp_path):
    path = write(tmp_path, '[site]\nname = "unterminated\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    message = str(info.value)
    assert str(path) in message and "not valid TOML" in message and "line 2" in message


def test_non_utf8_settings_file_is_a_clear_error(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_bytes('[site]\nname = "ИОМ"\n'.encode("cp1251"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(path, environ={})
