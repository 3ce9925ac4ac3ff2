"""A release whose text is not in the source language is not published as if it were (issue 9).

Pipeline tests, each on SQLite and PostgreSQL: an Albanian .txt dropped into the Macedonian
drop folder goes through the real ingest (lingua), the feeds, the translate stage (a loopback
server speaking Google's protocol) and the mails (queueing, rendering, a real SMTP server).
Held, it reaches no reader; confirmed as Albanian it is the original of the sq feed and is
translated from sq; confirmed as Macedonian it is published as before. The CLI, the JSON API
and the staff pages confirm it the same way.
"""

from __future__ import annotations

import base64
import datetime as dt
import json

import feedparser
import pytest
from lxml import etree

from publisher.app import App
from publisher.feeds import build_feeds
from publisher.language_hold import confirm_language
from publisher.sending import queue_digests, queue_immediate
from publisher.subscriptions import subscribe
from publisher.translate.stage import translate_pending

from .conftest import P1, P2, P3, SAMPLE_TITLE
from .email_helpers import bodies, flat
from .protocol_servers import ProtocolServer
from .smtp_server import SmtpTestServer
from .test_cli import run
from .web_helpers import PASSWORD, add_staff, client, csrf_of, login, make_web

SQ_TITLE = "ONM mblodhi në Shkup shefat e shërbimeve kufitare të Ballkanit Perëndimor"
SQ_PARAGRAPHS = (
    "Organizata Ndërkombëtare për Migracion organizoi takimin rajonal me shefat e policive kufitare "
    "nga vendet e Ballkanit Perëndimor. Në takim morën pjesë delegacione të nivelit të lartë nga "
    "shërbimet për çështje kufitare.",
    "Takimi u organizua në kuadër të projekteve rajonale për forcimin e kapaciteteve për ripranim në "
    "vendet e Ballkanit Perëndimor, të financuara nga Ministria e Punëve të Jashtme e Danimarkës.",
    "Bashkëpunimi dhe koordinimi rajonal janë thelbësorë për t'u përballur me sfidat e identifikuara "
    "dhe për të nxitur sisteme funksionale, efektive dhe të integruara të menaxhimit të kufirit.",
)
SQ_TEXT = "\n\n".join([SQ_TITLE, *SQ_PARAGRAPHS]) + "\n"
MK_TEXT = "\n\n".join([SAMPLE_TITLE, P1, P2, P3]) + "\n"
EN_FILL = ("The International Organization for Migration brought together the heads of the border police "
           "services of the Western Balkans to discuss regional cooperation and integrated border management.")
FILL = {"mk": P1, "en": EN_FILL, "sq": SQ_PARAGRAPHS[0]}
LANGS = ("mk", "en", "sq")


def translated(text: str, src: str, tgt: str) -> str:
    """What the loopback 'Google' answers: text in ``tgt`` about as long as the input."""
    words = (FILL[tgt] + " ") * (len(text) // len(FILL[tgt]) + 1)
    return words[: max(len(text), 12)].rsplit(" ", 1)[0].rstrip(",.") + "."


@pytest.fixture
def smtp():
    with SmtpTestServer() as server:
        yield server


@pytest.fixture
def google():
    server = ProtocolServer("google")
    server.translate = translated
    yield server
    server.stop()


def configure(site, smtp, google=None, policy: str = "hold") -> App:
    translation = ""
    if google is not None:
        translation = f"""
[translation]
online = true
chains = {{ en = ["google"], sq = ["google"], mk = ["google"] }}
publish = {{ en = "machine", sq = "machine", mk = "machine" }}

[translation.engines.google]
base_url = "{google.url}/m"
timeout_seconds = 2
max_retries = 0
backoff_seconds = 0
requests_per_second = 1000
"""
    site.write(extra=f"""
[cleaning]
on_language_mismatch = "{policy}"

[feeds]
output_dir = "public"

[mail]
transport = "smtp"
from = "IOM North Macedonia <news@news.example.org>"
smtp_port = {smtp.port}
rate_per_second = 1000
list_id = "IOM news <news.news.example.org>"
unsubscribe_mailto = "unsubscribe@news.example.org"
""" + translation)
    return App(site.settings())


@pytest.fixture
def app(site, smtp):
    application = configure(site, smtp)
    yield application
    application.close()


def drop_both(site, app: App) -> None:
    """Subscribers first (immediate mail goes to those confirmed before a release is publishable),
    then the two files: one Macedonian, one Albanian."""
    subscribe_everyone(app)
    (site.inbox / "iom-vest.txt").write_text(MK_TEXT, encoding="utf-8")
    (site.inbox / "njoftim-shqip.txt").write_text(SQ_TEXT, encoding="utf-8")


def ingest(app: App):
    report = app.ingest()
    assert report.counts()["new"] == 2 and not report.quarantined, report
    by_title = {r.title: r for r in app.store.list_releases()}
    return by_title[SAMPLE_TITLE], by_title[SQ_TITLE]


def subscribe_everyone(app: App) -> None:
    for lang in LANGS:
        for frequency in ("immediate", "daily"):
            subscribe(app.store, f"{frequency}-{lang}@example.org", lang, frequency, app.settings.site.languages,
                      "test", confirmed=True)
        # as if the last digest went out two days ago (the releases come after it)
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
        app.store.set_control(f"digest-cursor:daily:{lang}", {"cutoff": since.isoformat(), "sent": []})


def feed(app: App, lang: str, kind: str = "rss"):
    settings = app.settings
    return (settings.feeds.output_dir / settings.feeds.path(kind, lang)).read_bytes()


def feed_titles(app: App, lang: str) -> list[str]:
    return [e.title for e in feedparser.parse(feed(app, lang)).entries]


def mail_out(app: App, smtp) -> dict[str, str]:
    """Queue immediate mails and the daily digests, send them; recipient → plain text of its mail."""
    queue_immediate(app.settings, app.store)
    queue_digests(app.settings, app.store, "daily")
    app.dispatch()
    got: dict[str, str] = {}
    for message in smtp.received():
        text, html = bodies(message.parsed())
        for recipient in message.recipients:
            got[recipient] = got.get(recipient, "") + flat(text) + html
    return got


def ledger_release_ids(app: App) -> set[int]:
    ids: set[int] = set()
    for d in app.store.list_deliveries(limit=1000):
        ids.update(int(i) for i in d.payload.get("releases", []))
        if d.payload.get("release") is not None:
            ids.add(int(d.payload["release"]))
    return ids


# ----------------------------------------------------------------------------- held
def test_an_albanian_release_in_the_mk_folder_is_held_from_every_reader(site, app, smtp):
    drop_both(site, app)
    macedonian, albanian = ingest(app)
    assert albanian.language_status == "held" and albanian.detected_language == "sq"
    assert any(f.startswith("language-mismatch: sq, expected mk") for f in albanian.flags), albanian.flags
    assert macedonian.language_status == "ok" and macedonian.language == "mk"

    report = translate_pending(app.translation)
    assert albanian.id not in {r for r, _, _ in report.waiting + report.failed}
    assert app.store.list_translations(release_id=albanian.id) == []  # not translated
    code, out, err = run("translations", "retranslate", str(albanian.id), "en", "--engine", "google",
                         settings=site.settings_file)
    assert code == 1 and "is held" in err and "confirm-language" in err  # not even when staff force it
    assert app.store.list_translations(release_id=albanian.id) == []

    build_feeds(app.settings, app.store)
    assert feed_titles(app, "mk") == [SAMPLE_TITLE]
    for lang in ("en", "sq"):
        assert SQ_TITLE not in feed_titles(app, lang)
    assert all(SQ_TITLE.encode() not in feed(app, lang, kind) for lang in LANGS for kind in ("rss", "atom"))

    got = mail_out(app, smtp)
    assert "immediate-mk@example.org" in got and "daily-mk@example.org" in got  # the Macedonian one went out
    assert all(SQ_TITLE not in text and SQ_PARAGRAPHS[0][:40] not in text for text in got.values())
    assert albanian.id not in ledger_release_ids(app)
    assert macedonian.id in ledger_release_ids(app)

    web_app, web = make_web(site)
    with client(web) as c:
        assert c.get(f"/releases/{albanian.uid}/mk").status_code == 404
        assert c.get(f"/releases/{albanian.uid}/sq").status_code == 404
        assert c.get(f"/releases/{macedonian.uid}/mk").status_code == 200
    web_app.close()


def test_confirmed_as_albanian_it_is_the_original_of_the_sq_feed_and_translated_from_sq(site, smtp, google):
    app = configure(site, smtp, google)
    try:
        drop_both(site, app)
        macedonian, albanian = ingest(app)
        confirmed = confirm_language(app.settings, app.store, albanian.id, "sq")
        assert (confirmed.language, confirmed.language_status, confirmed.detected_language) == ("sq", "confirmed", "sq")

        build_feeds(app.settings, app.store)
        rss = etree.fromstring(feed(app, "sq"))
        assert rss.findtext("channel/language") == "sq"
        item = next(i for i in rss.iter("item") if i.findtext("title") == SQ_TITLE)
        assert SQ_PARAGRAPHS[0][:50] in item.findtext("description")
        assert "achine" not in etree.tostring(item, encoding="unicode")  # the original: no machine-translation note
        assert SQ_TITLE not in feed_titles(app, "mk") and SQ_TITLE not in feed_titles(app, "en")

        report = translate_pending(app.translation)
        asked = [(r.arg("sl"), r.arg("tl")) for r in google.calls("/m")]
        from_sq = {tl for sl, tl in asked if sl == "sq"}
        assert from_sq == {"mk", "en"}, asked  # from its own language, into every other one (mk included)
        assert ("sq", "sq") not in asked and ("mk", "sq") in asked  # the Macedonian one as before
        assert report.translated["google"] == 4 and not report.failed, report.as_dict()
        variants = {t.lang: t for t in app.store.list_translations(release_id=albanian.id)}
        assert set(variants) == {"mk", "en"} and variants["mk"].status.value == "machine"

        build_feeds(app.settings, app.store)
        assert SQ_TITLE in feed_titles(app, "sq")
        mk_entries = {e.link: e for e in feedparser.parse(feed(app, "mk")).entries}
        entry = mk_entries[f"http://127.0.0.1:8080/releases/{albanian.uid}/mk"]
        assert entry.title == variants["mk"].title
        body = entry.content[0].value if "content" in entry else entry.summary
        assert f"/releases/{albanian.uid}/sq" in body and "албански" in body  # the note names and links the original

        got = mail_out(app, smtp)
        assert SQ_TITLE in got["immediate-sq@example.org"] and SQ_TITLE in got["daily-sq@example.org"]
        assert SQ_TITLE not in got.get("immediate-mk@example.org", "")
        assert variants["mk"].title in got["immediate-mk@example.org"]
    finally:
        app.close()


def test_confirmed_as_albanian_waits_with_the_reason_when_no_engine_can_translate_from_sq(site, app):
    drop_both(site, app)
    _, albanian = ingest(app)
    confirm_language(app.settings, app.store, albanian.uid, "sq")
    report = translate_pending(app.translation, release=albanian.id)
    waiting = {lang: why for rid, lang, why in report.waiting if rid == albanian.id}
    assert set(waiting) == {"mk", "en"}, report.as_dict()
    assert "chains.mk" in waiting["mk"]  # no chain translates into the source language here
    assert "google" in waiting["en"] and "sq" not in {t.lang for t in app.store.list_translations(release_id=albanian.id)}


def test_confirmed_as_macedonian_it_is_published_as_before(site, smtp, google):
    app = configure(site, smtp, google)
    try:
        drop_both(site, app)
        _, albanian = ingest(app)
        confirmed = confirm_language(app.settings, app.store, albanian.id, "mk")
        assert (confirmed.language, confirmed.language_status, confirmed.detected_language) == ("mk", "confirmed", "sq")
        build_feeds(app.settings, app.store)
        assert SQ_TITLE in feed_titles(app, "mk")
        assert etree.fromstring(feed(app, "mk")).findtext("channel/language") == "mk"
        translate_pending(app.translation, release=albanian.id)
        assert {(r.arg("sl"), r.arg("tl")) for r in google.calls("/m")} == {("mk", "en"), ("mk", "sq")}
        assert SQ_TITLE in mail_out(app, smtp)["immediate-mk@example.org"]
    finally:
        app.close()


def test_with_publish_the_old_behaviour(site, smtp):
    app = configure(site, smtp, policy="publish")
    try:
        drop_both(site, app)
        _, albanian = ingest(app)
        assert (albanian.language, albanian.language_status, albanian.detected_language) == ("mk", "ok", "sq")
        assert any(f.startswith("language-mismatch: sq") for f in albanian.flags)
        build_feeds(app.settings, app.store)
        assert SQ_TITLE in feed_titles(app, "mk")
        assert SQ_TITLE in mail_out(app, smtp)["immediate-mk@example.org"]
    finally:
        app.close()


def test_a_new_revision_keeps_the_staff_decision(site, app):
    drop_both(site, app)
    _, albanian = ingest(app)
    confirm_language(app.settings, app.store, albanian.id, "sq")
    (site.inbox / "njoftim-shqip.txt").write_text(SQ_TEXT + "\n" + SQ_PARAGRAPHS[2] + " Faleminderit.\n",
                                                  encoding="utf-8")
    assert app.ingest().counts()["updated"] == 1
    again = app.store.get_release(albanian.id)
    assert (again.revision, again.language, again.language_status) == (2, "sq", "confirmed")


def test_confirm_refuses_what_is_not_a_site_language(site, app):
    drop_both(site, app)
    _, albanian = ingest(app)
    from publisher.errors import PublisherError

    with pytest.raises(PublisherError, match="not one of this site's languages.*mk, en, sq"):
        confirm_language(app.settings, app.store, albanian.id, "de")
    with pytest.raises(PublisherError, match="not a known language code"):
        confirm_language(app.settings, app.store, albanian.id, "xx-nope")
    with pytest.raises(PublisherError, match="no release 9999"):
        confirm_language(app.settings, app.store, 9999, "sq")
    assert app.store.get_release(albanian.id).held


# ----------------------------------------------------------------------------- CLI, API, staff pages
def test_cli_lists_the_hold_and_confirms_the_language(site, app):
    drop_both(site, app)
    _, albanian = ingest(app)
    code, out, _ = run("releases", "list", settings=site.settings_file)
    assert code == 0 and "held" in out and "sq?" in out
    code, out, _ = run("releases", "list", "--held", "--json", settings=site.settings_file)
    [row] = json.loads(out)
    assert row["id"] == albanian.id and row["language_status"] == "held" and row["detected_language"] == "sq"
    code, out, _ = run("releases", "confirm-language", str(albanian.id), "sq", "--json", settings=site.settings_file)
    assert code == 0, out
    data = json.loads(out)
    assert (data["id"], data["language"], data["language_status"]) == (albanian.id, "sq", "confirmed")
    code, out, err = run("releases", "confirm-language", str(albanian.id), "de", settings=site.settings_file)
    assert code != 0 and "not one of this site's languages" in out + err
    code, out, _ = run("releases", "list", "--held", "--json", settings=site.settings_file)
    assert json.loads(out) == []


def test_api_and_staff_pages_show_held_releases_and_confirm_them(site):
    app, web = make_web(site, """
[cleaning]
on_language_mismatch = "hold"
""")
    add_staff(app)
    try:
        drop_both(site, app)
        _, albanian = ingest(app)
        basic = {"Authorization": "Basic " + base64.b64encode(f"ana:{PASSWORD}".encode()).decode()}
        with client(web) as c:
            assert c.get("/api/releases/held").status_code == 401
            held = c.get("/api/releases/held", headers=basic).json()
            assert [(r["id"], r["detected_language"]) for r in held["items"]] == [(albanian.id, "sq")]
            spec = c.get("/api/openapi.json").json()
            assert "post" in spec["paths"]["/api/releases/{id}/language"]
            bad = c.post(f"/api/releases/{albanian.id}/language", headers=basic, json={"language": "de"})
            assert bad.status_code == 422 and bad.json()["field"] == "body.language", bad.json()
            assert c.post("/api/releases/9999/language", headers=basic, json={"language": "sq"}).status_code == 404
            ok = c.post(f"/api/releases/{albanian.id}/language", headers=basic, json={"language": "sq"})
            assert ok.status_code == 200 and ok.json()["language_status"] == "confirmed"
            assert c.get("/api/releases/held", headers=basic).json()["items"] == []

            # the staff pages: back to held by a fresh Albanian file, confirmed with the form
            (site.inbox / "tjeter.txt").write_text(SQ_TEXT.replace("Shkup", "Tetovë"), encoding="utf-8")
            app.ingest()
            other = next(r for r in app.store.list_releases() if "Tetovë" in r.title)
            assert other.held
            send = c.post("/api/send/release", headers=basic, json={"release": other.id})
            assert send.status_code == 409 and "is held" in send.json()["error"] and "confirm-language" in send.json()["error"]
            login(c)
            page = c.get("/staff/").text
            assert 'id="held"' in page and "Tetovë" in page and f'action="/staff/releases/{other.id}/language"' in page
            review = c.get(f"/staff/releases/{other.id}/en").text
            assert "held" in review and f'action="/staff/releases/{other.id}/language"' in review
            refused = c.post(f"/staff/releases/{other.id}/language", data={"language": "sq", "csrf_token": "wrong"})
            assert refused.status_code == 403 and app.store.get_release(other.id).held
            done = c.post(f"/staff/releases/{other.id}/language", data={"language": "sq", "csrf_token": csrf_of(page)},
                          headers={"Origin": "http://127.0.0.1:8080"})
            assert done.status_code == 303
            assert app.store.get_release(other.id).language_status == "confirmed"
            page = c.get("/staff/").text
            assert "confirmed as sq" in page and "Tetovë" in page.split('id="releases"')[1]
            # its Macedonian translation is reviewed like any other
            assert f'href="/staff/releases/{other.id}/mk"' in page
            assert c.get(f"/staff/releases/{other.id}/mk").status_code == 200
            assert c.get(f"/staff/releases/{other.id}/sq").status_code == 404  # its own language: no translation
    finally:
        app.close()


# ----------------------------------------------------------------------------- migration 0006
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db(request, tmp_path):
    """An empty database (no tables), to migrate step by step."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    import uuid

    from sqlalchemy import create_engine, text

    from .conftest import PG_ADMIN_URL

    name = f"publisher_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_migration_keeps_what_readers_saw_for_releases_stored_before_it(empty_db):
    """Before 0006 a flagged Albanian release was published as Macedonian; after it, it still is
    (language mk, sq kept as the detected language), and a Macedonian one is untouched."""
    from sqlalchemy import text

    from publisher.store import Store
    from publisher.store import db as store_db

    store = Store(empty_db, check=False)
    store_db.upgrade(store.engine, "0005")
    now = dt.datetime(2026, 11, 30, 8, 0)
    with store.engine.begin() as conn:
        for n, (language, flags) in enumerate((("sq", '["language-mismatch: sq, expected mk"]'), ("mk", "[]")), 1):
            conn.execute(text(
                "INSERT INTO releases (id, uid, source, title, body, language, flags, categories, published_at, "
                "revision, content_hash, created_at, updated_at) VALUES (:id, :uid, 'inbox', :t, 'b', :lang, "
                ":flags, '[]', :now, 1, :hash, :now, :now)"),
                {"id": n, "uid": f"u{n}", "t": f"t{n}", "lang": language, "flags": flags, "now": now, "hash": f"h{n}"})
    store_db.upgrade(store.engine)
    store.close()
    store = Store(empty_db)
    try:
        old_sq, old_mk = store.get_release(1), store.get_release(2)
        assert (old_sq.language, old_sq.detected_language, old_sq.language_status) == ("mk", "sq", "ok")
        assert (old_mk.language, old_mk.detected_language, old_mk.language_status) == ("mk", "mk", "ok")
        assert {r.id for r, _ in store.publishable("mk", "mk")} == {1, 2}
    finally:
        store.close()


# ----------------------------------------------------------------------------- declared defaults
def test_a_folder_declared_macedonian_does_not_hide_an_albanian_text(site, smtp):
    """A folder's `language` (like a feed channel's <language> or a template's <html lang>) is
    a default for the whole source, not the author's word about one text: when the detector
    finds another language, the release is held all the same."""
    site.write(extra="[cleaning]\non_language_mismatch = \"hold\"\n", sources="""
[[sources]]
name = "inbox"
type = "directory"
path = "inbox"
language = "mk"
settle_seconds = 0
""")
    app = App(site.settings())
    try:
        (site.inbox / "iom-vest.txt").write_text(MK_TEXT, encoding="utf-8")
        (site.inbox / "njoftim-shqip.txt").write_text(SQ_TEXT, encoding="utf-8")
        macedonian, albanian = ingest(app)
        assert albanian.language_status == "held" and albanian.detected_language == "sq"
        assert any(f.startswith("language-conflict: declared mk, detected sq") for f in albanian.flags)
        assert any(f.startswith("language-mismatch: sq, expected mk") for f in albanian.flags)
        assert macedonian.language_status == "ok" and macedonian.language == "mk"
        build_feeds(app.settings, app.store)
        assert feed_titles(app, "mk") == [SAMPLE_TITLE]
    finally:
        app.close()
