"""Which releases a message holds (issue 10), through the real pipeline: ingest → translate →
queue → dispatch over real SMTP (aiosmtpd on loopback), on SQLite and PostgreSQL.

- archive (a feed's first poll, or a release dated older than [digest] backlog_days) is in the
  feeds but never mailed; a file dropped into the inbox today is news;
- an immediate subscriber gets only releases that became publishable after they confirmed;
- a digest holds the same releases in mk, en and sq (the `missing_translation` policy decides
  what a language still waiting for its translation does);
- a manual `send release` still reaches every subscriber of the language who may receive mail;
- a long title gives a Subject cut at a word boundary with "…".
"""

from __future__ import annotations

import datetime as dt
import os
import json
import re
import textwrap
from email.utils import format_datetime
from xml.sax.saxutils import escape

import pytest
from werkzeug import Response

from publisher.app import App
from publisher.feeds.stage import build_feeds
from publisher.models import SubscriberStatus
from publisher.sending import queue_digests, queue_immediate
from publisher.subscriptions import confirm, subscribe, unsubscribe
from publisher.translate.stage import translate_pending

from .conftest import P1, P2, P3, P4
from .email_helpers import bodies, claim_one, make_release, make_renderer, mail_settings, parse, subscriber
from .smtp_server import SmtpTestServer

UTC = dt.UTC
CONFIRMED = SubscriberStatus.CONFIRMED
INBOX = textwrap.dedent("""
    [[sources]]
    name = "inbox"
    type = "directory"
    path = "inbox"
    settle_seconds = 0
    """)
UID = re.compile(r"/releases/([0-9a-f]{24})/")
TITLES = {
    "a": "Регионален состанок на граничните служби во Скопје",
    "b": "Нова програма за поддршка на мигрантите",
    "c": "Стара вест од архивата на организацијата",
    "d": "Уште една вест за соработката на Западен Балкан",
    "e": "Обука за граничните полицајци во Куманово",
}


@pytest.fixture
def smtp():
    with SmtpTestServer() as server:
        yield server


def make_app(site, smtp, digest: str = "", sources: str = INBOX) -> App:
    site.write(extra=f"""
[mail]
transport = "smtp"
smtp_port = {smtp.port}
rate_per_second = 1000
[digest]
{digest}
""", sources=sources)
    return App(site.settings())


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


def drop_md(site, name: str, title: str, published: dt.datetime, *paragraphs: str) -> None:
    local = published.strftime("%Y-%m-%d %H:%M")
    text = f"---\ntitle: {title}\ndate: {local}Z\n---\n\n" + "\n\n".join(paragraphs or (P1, P2)) + "\n"
    (site.inbox / name).write_text(text, encoding="utf-8")


def drop_txt(site, name: str, title: str, *paragraphs: str) -> None:
    (site.inbox / name).write_text(title + "\n\n" + "\n\n".join(paragraphs or (P3, P4)) + "\n", encoding="utf-8")


def pipeline(app: App) -> None:
    """What `publisher run` does after a poll: ingest, translate (Apertium: en), feeds."""
    app.ingest()
    translate_pending(app.translation)
    build_feeds(app.settings, app.store)


def deliver(app: App) -> None:
    queue_immediate(app.settings, app.store)
    app.dispatch()


def uid_of(app: App, title: str) -> str:
    [release] = [r for r in app.store.list_releases(limit=500) if r.title == title]
    return release.uid


def mailbox(smtp) -> dict[str, list[set[str]]]:
    """recipient → the releases each message names (confirmations name none)."""
    out: dict[str, list[set[str]]] = {}
    for received in smtp.received():
        text, _ = bodies(received.parsed())
        out.setdefault(received.recipients[0], []).append(set(UID.findall(text)))
    return out


def start_cursors(store, since: dt.datetime) -> None:
    """As if the last daily digests had gone out at ``since``."""
    for lang in ("mk", "en", "sq"):
        store.set_control(f"digest-cursor:daily:{lang}", {"cutoff": since.isoformat(), "sent": []})


def rss_item(guid: str, title: str, published: dt.datetime) -> str:
    body = "".join(f"<p>{p}</p>" for p in (P1, P2, P3))
    return (f'<item><title>{escape(title)}</title><guid isPermaLink="false">{guid}</guid>'
            f"<pubDate>{format_datetime(published)}</pubDate>"
            f"<content:encoded><![CDATA[{body}]]></content:encoded></item>")


def rss(items: list[str]) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>ИОМ</title>'
            "<link>http://127.0.0.1/</link><description>Соопштенија</description><language>mk</language>"
            + "".join(items) + "</channel></rss>").encode()


# --------------------------------------------------------------------------- archive
def test_first_poll_of_a_feed_is_archive_in_the_feed_but_never_mailed(site, smtp, httpserver):
    items = [rss_item("g-a", TITLES["a"], now() - dt.timedelta(days=2)),
             rss_item("g-b", TITLES["b"], now() - dt.timedelta(hours=5))]
    httpserver.expect_request("/rss.xml").respond_with_handler(
        lambda _request: Response(rss(items), content_type="application/rss+xml"))
    feed = f'\n[[sources]]\nname = "site"\ntype = "feed"\nurl = "{httpserver.url_for("/rss.xml")}"\nallow_private_networks = true\n'
    app = make_app(site, smtp, sources=INBOX + feed)
    store = app.store
    for address, lang, frequency in (("now@example.org", "mk", "immediate"), ("bo@example.org", "en", "immediate"),
                                     ("daily@example.org", "mk", "daily"), ("dita@example.org", "sq", "daily")):
        store.add_subscriber(address, lang, frequency, status=CONFIRMED)
    start_cursors(store, now() - dt.timedelta(hours=1))
    try:
        pipeline(app)
        releases = store.list_releases()
        assert len(releases) == 2 and all(r.archive for r in releases)
        deliver(app)
        assert queue_digests(app.settings, store, "daily", now=now() + dt.timedelta(minutes=1)).queued == 0
        app.dispatch()
        assert smtp.received() == []  # the site's backlog: nobody is mailed
        rss_mk = (site.dir / "feeds" / "mk" / "rss.xml").read_text(encoding="utf-8")
        assert TITLES["a"] in rss_mk and TITLES["b"] in rss_mk  # ...but it is in the feeds

        items.append(rss_item("g-d", TITLES["d"], now()))  # the next poll brings news
        pipeline(app)
        new = uid_of(app, TITLES["d"])
        assert store.get_release(new).archive is False
        deliver(app)
        assert mailbox(smtp) == {"now@example.org": [{new}], "bo@example.org": [{new}]}
        smtp.clear()
        queue_digests(app.settings, store, "daily", now=now() + dt.timedelta(minutes=2))
        app.dispatch()
        got = mailbox(smtp)
        assert got["daily@example.org"] == [{new}]
        assert got.get("dita@example.org") is None  # sq: waiting for its translation (policy wait)
    finally:
        app.close()


def test_an_old_dated_release_is_archive_a_file_dropped_today_is_news(site, smtp):
    app = make_app(site, smtp, digest="backlog_days = 7")
    store = app.store
    store.add_subscriber("now@example.org", "mk", "immediate", status=CONFIRMED)
    try:
        drop_md(site, "old.md", TITLES["c"], dt.datetime(2024, 11, 12, 9, tzinfo=UTC))
        drop_md(site, "last-week.md", TITLES["a"], now() - dt.timedelta(days=8), P2, P3)
        drop_md(site, "this-week.md", TITLES["b"], now() - dt.timedelta(days=3), P3, P4)
        drop_txt(site, "today.txt", TITLES["d"])  # a plain file: its date is the file's time (now)
        pipeline(app)
        archive = {r.title: r.archive for r in store.list_releases()}
        assert archive == {TITLES["c"]: True, TITLES["a"]: True, TITLES["b"]: False, TITLES["d"]: False}
        deliver(app)
        got = mailbox(smtp)
        assert list(got) == ["now@example.org"]
        assert sorted(tuple(m) for m in got["now@example.org"]) == sorted([(uid_of(app, TITLES["b"]),),
                                                                         (uid_of(app, TITLES["d"]),)])
        rss_mk = (site.dir / "feeds" / "mk" / "rss.xml").read_text(encoding="utf-8")
        assert all(TITLES[k] in rss_mk for k in "abcd")
    finally:
        app.close()


def test_a_plain_file_copied_with_its_old_mtime_is_news_not_archive(site, smtp):
    """The mtime is a stand-in for a date, not the release's own: `cp -p` or an unpacked
    archive keeps a file time of last year, but the file was dropped today."""
    app = make_app(site, smtp, digest="backlog_days = 7")
    app.store.add_subscriber("now@example.org", "mk", "immediate", status=CONFIRMED)
    try:
        drop_txt(site, "copied.txt", TITLES["d"])
        year_ago = (now() - dt.timedelta(days=365)).timestamp()
        os.utime(site.inbox / "copied.txt", (year_ago, year_ago))
        pipeline(app)
        [release] = app.store.list_releases()
        assert release.archive is False
        deliver(app)
        assert list(mailbox(smtp)) == ["now@example.org"]
    finally:
        app.close()


def test_backlog_days_is_a_setting(site, smtp):
    app = make_app(site, smtp, digest="backlog_days = 30")
    try:
        drop_md(site, "last-week.md", TITLES["a"], now() - dt.timedelta(days=8))
        pipeline(app)
        [release] = app.store.list_releases()
        assert release.archive is False  # 8 days old is news when the backlog starts at 30
        assert release.publishable_at is not None and now() - release.publishable_at < dt.timedelta(minutes=5)
    finally:
        app.close()


# --------------------------------------------------------------------------- the late subscriber
def test_a_late_subscriber_gets_nothing_old_and_the_next_new_release(site, smtp):
    app = make_app(site, smtp)
    store, languages = app.store, app.settings.site.languages
    try:
        for n, key in enumerate("abc"):
            drop_txt(site, f"r{n}.txt", TITLES[key], (P1, P2, P3, P4)[n])
        pipeline(app)
        deliver(app)  # nobody subscribed yet
        assert smtp.received() == []

        late, _ = subscribe(store, "late@example.org", "mk", "immediate", languages, "web")
        app.dispatch()
        [confirmation] = smtp.wait_for(1)
        assert confirmation.recipients == ("late@example.org",)
        confirm(store, late.id, late.token_version)
        subscribe(store, "late-en@example.org", "en", "immediate", languages, "import", confirmed=True)
        smtp.clear()
        deliver(app)
        assert smtp.received() == []  # was 3 mails each: the whole backlog

        drop_txt(site, "new.txt", TITLES["d"])
        pipeline(app)
        deliver(app)
        new = uid_of(app, TITLES["d"])
        assert mailbox(smtp) == {"late@example.org": [{new}], "late-en@example.org": [{new}]}
        smtp.clear()
        deliver(app)  # and only once
        assert smtp.received() == []
    finally:
        app.close()


def test_a_subscriber_who_comes_back_gets_only_what_is_new_since(site, smtp):
    app = make_app(site, smtp)
    store, languages = app.store, app.settings.site.languages
    try:
        ana, _ = subscribe(store, "ana@example.org", "mk", "immediate", languages, "staff", confirmed=True)
        unsubscribe(store, ana.id, ana.token_version)
        drop_txt(site, "r1.txt", TITLES["a"])
        pipeline(app)
        deliver(app)  # ana had left
        subscribe(store, "ana@example.org", "mk", "immediate", languages, "staff", confirmed=True)
        deliver(app)
        assert smtp.received() == []
        drop_txt(site, "r2.txt", TITLES["b"], P1)
        pipeline(app)
        deliver(app)
        assert mailbox(smtp) == {"ana@example.org": [{uid_of(app, TITLES["b"])}]}
    finally:
        app.close()


# --------------------------------------------------------------------------- digests: one set
@pytest.mark.parametrize("policy", ["wait", "original"])
def test_digests_hold_the_same_releases_in_every_language(site, smtp, policy):
    app = make_app(site, smtp, digest=f'missing_translation = {{ en = "wait", sq = "{policy}" }}')
    store = app.store
    for address, lang in (("vesna@example.mk", "mk"), ("bo@example.org", "en"), ("dita@example.org", "sq")):
        store.add_subscriber(address, lang, "daily", status=CONFIRMED)
    start_cursors(store, now() - dt.timedelta(hours=1))
    try:
        drop_md(site, "three-days.md", TITLES["a"], now() - dt.timedelta(days=3))  # dated before the last digest
        drop_txt(site, "today.txt", TITLES["b"])
        drop_md(site, "2024.md", TITLES["c"], dt.datetime(2024, 11, 20, 10, tzinfo=UTC), P4, P3)  # archive
        pipeline(app)
        a, b = uid_of(app, TITLES["a"]), uid_of(app, TITLES["b"])
        # sq: staff translated one of the two so far (no offline engine for Albanian)
        store.save_human_translation(store.get_release(a), "sq", "Takim rajonal i shërbimeve kufitare",
                                     "Paragraf i parë.\n\nParagraf i dytë.", editor="ana")
        queue_digests(app.settings, store, "daily", now=now())
        app.dispatch()
        got = mailbox(smtp)
        assert got["vesna@example.mk"] == [{a, b}]
        assert got["bo@example.org"] == [{a, b}]
        assert got["dita@example.org"] == ([{a, b}] if policy == "original" else [{a}])
        payloads = {d.lang: d.payload["releases"] for d in store.list_deliveries() if d.kind == "digest"}
        assert sorted(payloads["mk"]) == sorted(payloads["en"])

        # the next day: the waiting translation has come; mk and en have nothing new
        store.save_human_translation(store.get_release(b), "sq", "Program i ri për migrantët",
                                     "Paragraf i parë.\n\nParagraf i dytë.", editor="ana")
        smtp.clear()
        report = queue_digests(app.settings, store, "daily", now=now() + dt.timedelta(days=1))
        app.dispatch()
        if policy == "wait":
            assert mailbox(smtp) == {"dita@example.org": [{b}]}
        else:
            assert mailbox(smtp) == {}
        assert sorted(report.nothing_new) == (["daily:en", "daily:mk"] if policy == "wait"
                                              else ["daily:en", "daily:mk", "daily:sq"])
    finally:
        app.close()


# --------------------------------------------------------------------------- manual sends
def test_send_release_reaches_everyone_who_may_receive_mail(site, smtp):
    app = make_app(site, smtp)
    store, languages = app.store, app.settings.site.languages
    try:
        drop_md(site, "old.md", TITLES["c"], dt.datetime(2024, 11, 12, 9, tzinfo=UTC))  # archive
        pipeline(app)
        [release] = store.list_releases()
        assert release.archive
        for address, frequency in (("imm@example.org", "immediate"), ("day@example.org", "daily"),
                                   ("week@example.org", "weekly")):
            store.add_subscriber(address, "mk", frequency, status=CONFIRMED)  # all confirmed after ingest
        store.add_subscriber("en@example.org", "en", "weekly", status=CONFIRMED)
        subscribe(store, "pending@example.org", "mk", "daily", languages, "web")
        gone, _ = subscribe(store, "gone@example.org", "mk", "daily", languages, "staff", confirmed=True)
        unsubscribe(store, gone.id, gone.token_version)
        app.dispatch()  # the pending subscriber's confirmation
        smtp.clear()
        from .test_cli import run

        code, out, _ = run("releases", "list", "--json", settings=site.settings_file)
        [listed] = json.loads(out)
        assert listed["archive"] is True and listed["publishable_at"]  # staff can see why it was not mailed
        code, out, _ = run("send", "release", str(release.id), "--now", "--json", settings=site.settings_file)
        assert code == 0, out
        assert sum(m["queued"] for m in json.loads(out)["messages"]) == 4
        app.dispatch()
        got = mailbox(smtp)
        assert set(got) == {"imm@example.org", "day@example.org", "week@example.org", "en@example.org"}
        assert all(messages == [{release.uid}] for messages in got.values())
        smtp.clear()
        deliver(app)  # the automatic immediate mail does not add a second copy
        assert smtp.received() == []
    finally:
        app.close()


# --------------------------------------------------------------------------- the Subject
LONG_TITLE = ("Меѓународната организација за миграции и Министерството за внатрешни работи ги претставија "
              "резултатите од регионалниот проект за зајакнување на капацитетите на граничната полиција, "
              "реадмисијата и заштитата на ранливите мигранти во земјите од Западен Балкан, "
              "со поддршка од Европската унија")


def test_a_long_title_gives_a_subject_cut_at_a_word_boundary(store, tmp_path):
    assert len(LONG_TITLE) > 250
    release = make_release(store, 1, LONG_TITLE, "Пасус за проектот.")
    reader = subscriber(store, "reader@example.org", "mk")
    for limit in (None, 60):
        extra = {} if limit is None else {"max_subject_chars": limit}
        renderer = make_renderer(store, tmp_path, **extra)
        row = claim_one(store, f"release:{release.uid}:mk:{limit}", "release", "mk", {"release": release.id}, reader)
        subject = parse(renderer.render(row).data)["Subject"]
        maximum = limit or 120
        assert len(subject) <= maximum and len(subject) > maximum - 25, subject
        assert subject.endswith("…") and not subject.endswith(" …")
        kept = subject[:-1]
        assert LONG_TITLE.startswith(kept) and LONG_TITLE[len(kept)] in " ,"  # a whole word was kept last
    short = make_release(store, 2, "Кратко соопштение", "Пасус.")
    row = claim_one(store, f"release:{short.uid}:mk", "release", "mk", {"release": short.id}, reader)
    assert parse(make_renderer(store, tmp_path).render(row).data)["Subject"] == "Кратко соопштение"


def test_max_subject_chars_is_validated(tmp_path):
    assert mail_settings(tmp_path).max_subject_chars == 120
    with pytest.raises(ValueError, match="max_subject_chars"):
        mail_settings(tmp_path, max_subject_chars=5)


def test_releases_after_this_periods_digest_went_out_come_in_the_next_one(site, smtp):
    """A manual "send now" digest, then the scheduled one in the same period: the releases in
    between are not lost under the message key already used; they come the next day."""
    app = make_app(site, smtp)
    store = app.store
    store.add_subscriber("vesna@example.mk", "mk", "daily", status=CONFIRMED)
    start_cursors(store, now() - dt.timedelta(hours=1))
    try:
        drop_txt(site, "first.txt", TITLES["a"])
        pipeline(app)
        queue_digests(app.settings, store, "daily", now=now(), langs=["mk"])
        drop_txt(site, "second.txt", TITLES["b"], P1)
        pipeline(app)
        again = queue_digests(app.settings, store, "daily", now=now(), langs=["mk"])
        assert again.queued == 0  # same period, same key: nobody gets a second digest today
        app.dispatch()
        assert mailbox(smtp) == {"vesna@example.mk": [{uid_of(app, TITLES["a"])}]}
        smtp.clear()
        queue_digests(app.settings, store, "daily", now=now() + dt.timedelta(days=1), langs=["mk"])
        app.dispatch()
        assert mailbox(smtp) == {"vesna@example.mk": [{uid_of(app, TITLES["b"])}]}
    finally:
        app.close()


def test_switching_to_immediate_brings_no_backlog(site, smtp):
    app = make_app(site, smtp)
    store = app.store
    reader = store.add_subscriber("day@example.org", "mk", "daily", status=CONFIRMED)[0]  # confirmed first
    try:
        drop_txt(site, "r1.txt", TITLES["a"])
        drop_txt(site, "r2.txt", TITLES["b"], P1)
        pipeline(app)
        deliver(app)  # no immediate subscriber in mk: nothing to send, and these are done
        store.update_subscriber(reader.id, frequency="immediate")
        deliver(app)
        assert smtp.received() == []
        drop_txt(site, "r3.txt", TITLES["d"], P2)
        pipeline(app)
        deliver(app)
        assert mailbox(smtp) == {"day@example.org": [{uid_of(app, TITLES["d"])}]}
    finally:
        app.close()


def test_first_poll_of_a_webpage_source_is_archive_too(site, smtp, httpserver):
    from .test_source_webpage import TITLES as PAGE_TITLES
    from .test_source_webpage import article_html, listing_html, page_toml

    listed = ["/mk/soopstenija/1", "/mk/soopstenija/2"]
    httpserver.expect_request("/mk/soopstenija/").respond_with_handler(
        lambda _request: Response(listing_html(*listed), content_type="text/html; charset=utf-8"))
    yesterday = (now() - dt.timedelta(days=1)).isoformat()
    for key in "123":
        page = article_html(key, httpserver.url_for(f"/vesti/{key}"), published=yesterday)
        httpserver.expect_request(f"/mk/soopstenija/{key}").respond_with_data(page, content_type="text/html")
    app = make_app(site, smtp, sources=INBOX + page_toml("web", httpserver.url_for("/mk/soopstenija/")))
    app.store.add_subscriber("now@example.org", "mk", "immediate", status=CONFIRMED)
    try:
        pipeline(app)
        assert sorted((r.title, r.archive) for r in app.store.list_releases()) == sorted(
            [(PAGE_TITLES["1"], True), (PAGE_TITLES["2"], True)])
        deliver(app)
        assert smtp.received() == []
        listed.insert(0, "/mk/soopstenija/3")  # the site publishes a new one
        pipeline(app)
        deliver(app)
        assert mailbox(smtp) == {"now@example.org": [{uid_of(app, PAGE_TITLES["3"])}]}
    finally:
        app.close()
