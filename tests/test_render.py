"""Renderer: every kind of message from the real store, parsed back with the `email` package."""

from __future__ import annotations

import re

import dkim
import pytest
from babel.messages.extract import extract_from_dir

from publisher import locale as catalogs
from publisher.delivery.render import PACKAGED_TEMPLATES
from publisher.delivery.tokens import Tokens
from publisher.errors import RenderError

from .conftest import SAMPLE_TITLE
from .email_helpers import (
    BASE_URL,
    EN2_TITLE,
    EN_TITLE,
    SECRET,
    SQ_TITLE,
    bodies,
    claim_one,
    dnsfunc_for,
    flat,
    make_dkim_key,
    make_release,
    make_renderer,
    parse,
    seed,
    subscriber,
)

HEADINGS = {"mk": "Дневен преглед", "en": "Daily digest", "sq": "Përmbledhja ditore"}
NOTES = {"en": "Machine translation from Macedonian.", "sq": "Përkthim automatik nga maqedonishtja."}
TOKENS = Tokens(SECRET)


def digest_row(store, releases, lang, sub, period="2026-11-29", frequency="daily"):
    payload = {"releases": [r.id for r in releases.values()], "period": period, "frequency": frequency}
    return claim_one(store, f"digest:{frequency}:{lang}:{period}", "digest", lang, payload, sub)


def token_of(url: str, kind: str) -> str:
    match = re.search(rf"{re.escape(BASE_URL)}/{kind}/([A-Za-z0-9._-]+)", url)
    assert match, url
    return match.group(1)


@pytest.mark.parametrize("lang", ["mk", "en", "sq"])
def test_digest_in_each_language(store, tmp_path, lang):
    releases = seed(store)
    sub = subscriber(store, f"ana.{lang}@example.org", lang)
    message = make_renderer(store, tmp_path).render(digest_row(store, releases, lang, sub))
    assert message.recipient == sub.email and message.sender == "news@news.example.org"
    msg = parse(message.data)
    assert msg["Message-ID"] == message.message_id
    assert msg["Content-Language"] == lang
    assert str(msg["Subject"]).startswith(f"IOM North Macedonia: {HEADINGS[lang]}, ")
    assert ("29" in str(msg["Subject"])) and ("2026" in str(msg["Subject"]))
    text, html = bodies(msg)
    assert f'<html lang="{lang}"' in html
    r1, r2, r3 = releases["r1"], releases["r2"], releases["r3"]
    title = {"mk": SAMPLE_TITLE, "en": EN_TITLE, "sq": SQ_TITLE}[lang]
    for part in (flat(text), html):
        assert title in part
        assert f"{BASE_URL}/releases/{r1.uid}/{lang}" in part
        assert sub.email in part
    # links to the same release in the other published languages, named in their own language
    others = {"mk": ["en", "sq"], "en": ["mk", "sq"], "sq": ["mk", "en"]}[lang]
    for other in others:
        assert f'href="{BASE_URL}/releases/{r1.uid}/{other}" hreflang="{other}"' in html
        assert f"{BASE_URL}/releases/{r1.uid}/{other}" in text
    assert "Македонски" in text if lang != "mk" else "English" in text
    if lang != "mk":
        assert NOTES[lang] in text and NOTES[lang] in html
    else:
        assert "Machine translation" not in text and "Машински превод" not in text
    if lang == "sq":
        assert "ë" in text and "ç" in text.lower() and "Çështjet e sigurisë" in html
        # r2 has no sq translation; the plan put it in (policy "original"): the source text, with a note
        assert "Ende i papërkthyer: ky është teksti origjinal." in flat(text)
        assert f"{BASE_URL}/releases/{r2.uid}/mk" in text
        assert '<h2 lang="mk"' in html
    if lang == "en":
        assert EN2_TITLE in flat(text) and NOTES["en"] in text
        assert text.count(NOTES["en"]) == 1  # r2 is a human translation: no note
    assert f"{BASE_URL}/releases/{r3.uid}/mk" in text
    # footer links carry a token for this subscriber
    unsubscribe = token_of(text, "unsubscribe")
    assert TOKENS.read_unsubscribe(unsubscribe) == (sub.id, sub.token_version)
    assert f"{BASE_URL}/preferences/{unsubscribe}" in text and f"{BASE_URL}/preferences/{unsubscribe}" in html
    assert f"<{BASE_URL}/unsubscribe/{unsubscribe}>" in str(msg["List-Unsubscribe"])
    # HTML: preheader, inlined CSS, dark-mode rules kept, nothing external to load
    assert 'class="preheader"' in html and "display: none" in html
    assert re.search(r'<p class="site" style="[^"]*color: #4b5563', html)
    assert "prefers-color-scheme: dark" in html and 'name="color-scheme" content="light dark"' in html
    assert not re.search(r'(src|background)=["\']?https?:', html) and "<link" not in html and "@import" not in html
    # the plain text is a real alternative: readable, wrapped, the same items
    assert "<" not in text.replace(f"<{BASE_URL}", "")
    assert max(len(line) for line in text.splitlines() if "http" not in line) <= 72


def test_lead_or_full_text(store, tmp_path):
    releases = seed(store)
    sub = subscriber(store, "ana@example.org", "en")
    lead, _ = bodies(parse(make_renderer(store, tmp_path).render(digest_row(store, releases, "en", sub)).data))
    full, _ = bodies(parse(make_renderer(store, tmp_path, content="full").render(
        digest_row(store, releases, "en", sub, period="2026-11-30")).data))
    assert "The second paragraph is about regional cooperation." not in lead
    assert "The second paragraph is about regional cooperation." in full


def test_weekly_period_label(store, tmp_path):
    releases = seed(store)
    sub = subscriber(store, "ana@example.org", "sq")
    row = digest_row(store, releases, "sq", sub, period="2026-W48", frequency="weekly")
    msg = parse(make_renderer(store, tmp_path).render(row).data)
    assert "Përmbledhja javore" in str(msg["Subject"])
    assert "23" in str(msg["Subject"]) and "29" in str(msg["Subject"]) and "nën" in str(msg["Subject"])  # babel: "23–29 nën 2026"


def test_release_message_and_header_injection_through_a_title(store, tmp_path):
    evil = make_release(store, 9, "Наслов\r\nBcc: x@evil.example", "Текст.")
    store.save_human_translation(evil, "sq", "Titull ç ë\r\nBcc: y@evil.example\nX-Evil: 1", "Tekst ë.", editor="ana")
    sub = subscriber(store, "ana@example.org", "sq")
    row = claim_one(store, f"release:{evil.uid}:sq", "release", "sq", {"release": evil.id}, sub)
    message = make_renderer(store, tmp_path).render(row)
    msg = parse(message.data)
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert str(msg["Subject"]) == "Titull ç ë Bcc: y@evil.example X-Evil: 1"
    head = message.data.split(b"\r\n\r\n", 1)[0].lower()
    assert b"\r\nbcc:" not in head and b"\r\nx-evil:" not in head
    text, html = bodies(msg)
    assert "Njoftim i ri për shtyp" in text and f"{BASE_URL}/releases/{evil.uid}/sq" in html
    assert "Përkthim automatik" not in text  # a human translation


def test_confirm_message(store, tmp_path):
    pending = subscriber(store, "new@example.org", "mk", confirmed=False)
    other = subscriber(store, "other@example.org", "mk", confirmed=False)
    renderer = make_renderer(store, tmp_path)
    first = renderer.render(claim_one(store, f"confirm:{pending.id}:1", "confirm", "mk", {}, pending))
    second = renderer.render(claim_one(store, f"confirm:{other.id}:1", "confirm", "mk", {}, other))
    assert renderer.builds == 1  # one template per language for every confirmation
    msg = parse(first.data)
    assert str(msg["Subject"]) == "IOM North Macedonia: потврдете ја претплатата"
    text, html = bodies(msg)
    token = token_of(text, "confirm")
    assert TOKENS.read_confirm(token, 3600) == (pending.id, pending.token_version)
    assert f'href="{BASE_URL}/confirm/{token}"' in html and 'class="button"' in html
    assert "Врската важи 72 часа." in text
    assert token_of(bodies(parse(second.data))[0], "confirm") != token
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_test_message_defaults_to_latest_releases(store, tmp_path):
    releases = seed(store)
    row = claim_one(store, "test:1", "test", "en", {}, None, recipient="staff@example.org")
    msg = parse(make_renderer(store, tmp_path).render(row).data)
    assert str(msg["Subject"]).startswith("[Test] IOM North Macedonia: Test message")
    text, _ = bodies(msg)
    assert "This is a test message" in text
    assert EN_TITLE in flat(text) and EN2_TITLE in flat(text)
    assert releases["r3"].title not in flat(text)  # not published in English
    assert msg["To"] == "staff@example.org"
    row = claim_one(store, "test:2", "test", "sq", {"releases": [releases["r1"].id]}, None, recipient="s@example.org")
    assert SQ_TITLE in flat(bodies(parse(make_renderer(store, tmp_path).render(row).data))[0])


def test_cache_renders_once_per_message_and_language(store, tmp_path):
    releases = seed(store)
    renderer = make_renderer(store, tmp_path)
    subs = [subscriber(store, f"u{i}@example.org", "sq") for i in range(3)]
    payload = {"releases": [r.id for r in releases.values()], "period": "2026-11-29", "frequency": "daily"}
    store.enqueue("digest:daily:sq:2026-11-29", "digest", "sq", payload, [(s.id, s.email) for s in subs])
    rows = store.claim("t", 10, __import__("datetime").timedelta(minutes=1), message_key="digest:daily:sq:2026-11-29")
    messages = [renderer.render(row) for row in rows]
    assert renderer.builds == 1
    assert len({m.message_id for m in messages}) == 3
    tokens = {token_of(bodies(parse(m.data))[0], "unsubscribe") for m in messages}
    assert {TOKENS.read_unsubscribe(t)[0] for t in tokens} == {s.id for s in subs}
    renderer.render(digest_row(store, releases, "en", subscriber(store, "e@example.org", "en")))
    assert renderer.builds == 2


def test_site_templates_override_packaged_ones(store, tmp_path):
    releases = seed(store)
    site_templates = tmp_path / "site" / "templates" / "email"
    site_templates.mkdir(parents=True)
    (site_templates / "subject.txt.j2").write_text("{{ site_name }} ★ {{ count }} · {{ _('Daily digest') }}\n",
                                                   encoding="utf-8")
    sub = subscriber(store, "ana@example.org", "sq")
    renderer = make_renderer(store, tmp_path, template_dirs=[site_templates, tmp_path / "missing"])
    msg = parse(renderer.render(digest_row(store, releases, "sq", sub)).data)
    assert str(msg["Subject"]) == "IOM North Macedonia ★ 3 · Përmbledhja ditore"
    assert "Përkthim automatik" in bodies(msg)[0]  # the rest still from the packaged defaults


def test_dkim_signed_render_verifies(store, tmp_path):
    key, _, record = make_dkim_key(tmp_path / "keys")
    releases = seed(store)
    sub = subscriber(store, "ana@example.org", "mk")
    message = make_renderer(store, tmp_path, dkim_key=key).render(digest_row(store, releases, "mk", sub))
    assert dkim.verify(message.data, dnsfunc=dnsfunc_for(record))


def test_errors(store, tmp_path):
    releases = seed(store)
    sub = subscriber(store, "ana@example.org", "sq")
    renderer = make_renderer(store, tmp_path)
    with pytest.raises(RenderError, match="kind"):
        renderer.render(claim_one(store, "x:1", "newsletter", "sq", {}, sub))
    with pytest.raises(RenderError, match="language"):
        renderer.render(claim_one(store, "x:2", "digest", "de", {"releases": [releases["r1"].id]}, sub))
    with pytest.raises(RenderError, match="no subscriber"):  # erased after the claim (the claim skips such rows)
        row = claim_one(store, "x:3", "digest", "sq", {"releases": [releases["r1"].id]}, sub)
        renderer.render(__import__("dataclasses").replace(row, subscriber_id=None))
    with pytest.raises(RenderError, match="exists"):
        renderer.render(claim_one(store, "x:4", "digest", "sq", {"releases": [99999]}, sub))


def test_every_string_is_translated():
    """Every msgid in the templates and the renderer has a translation in mk and sq."""
    found = set()
    method_map = [("**.j2", "jinja2"), ("**.py", "python")]
    options = {"**.j2": {"extensions": "jinja2.ext.i18n"}}
    for folder, methods in ((PACKAGED_TEMPLATES, method_map[:1]), (PACKAGED_TEMPLATES.parent.parent / "delivery",
                                                                    method_map[1:])):
        for _, _, message, _, _ in extract_from_dir(str(folder), methods, options_map=options,
                                                    keywords={"_": None, "gettext": None, "ngettext": (1, 2)}):
            found.add(message if isinstance(message, str) else message[0])
    assert len(found) >= 15
    assert set(catalogs.available()) >= {"mk", "en", "sq"}
    for lang in ("mk", "sq"):
        t = catalogs.translations(lang)
        missing = [m for m in found if t.gettext(m) == m and not m.startswith("[")]
        assert not missing, (lang, missing)
    assert catalogs.translations("sq").ngettext("%(num)s new press release", "%(num)s new press releases", 1) \
        == "%(num)s njoftim i ri për shtyp"
    assert catalogs.translations("mk").ngettext("%(num)s new press release", "%(num)s new press releases", 21) \
        == "%(num)s ново соопштение за медиуми"  # Macedonian: 21 takes the singular
