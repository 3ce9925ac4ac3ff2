"""Render ledger rows into finished messages: Jinja2 + gettext + Babel, CSS inlined once.

Per (message key, language) the renderer builds one :class:`MessageTemplate` (templates
rendered, CSS inlined by css-inline, headers pre-encoded) and keeps it in a small LRU cache;
per recipient it only fills the address and the signed links. Templates are searched in the
site's folders first (e.g. ``<site>/templates/email``), then in the packaged defaults.

Kinds and payloads:
    confirm  {}                                        double opt-in
    links    {}                                        the current preferences/unsubscribe links (asked for
                                                       from an outdated link)
    digest   {"releases": [ids], "period": "2026-11-29" | "2026-W48", "frequency": "daily"|"weekly"}
    release  {"release": id}                           one release, for immediate subscribers
    test     {"releases": [ids]} or {}                 staff test send (latest releases if empty)
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import css_inline
from babel import Locale
from babel.dates import format_date, format_interval, format_time
from babel.numbers import format_decimal
from markupsafe import Markup
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    select_autoescape,
)

from .. import locale as catalogs
from ..errors import RenderError
from ..models import Delivery, StoredRelease, Subscriber, TranslationStatus
from ..structure import Block, blocks_to_html, body_blocks, lead_index
from ..translate.pivot import via
from .base import OutgoingMessage
from .mime import MARKERS, DkimSigner, MessageTemplate, ascii_address, clean_header, shorten

PACKAGED_TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"
KINDS = ("confirm", "digest", "release", "test", "links")
PERSONAL_KINDS = ("confirm", "links")  # the same for everyone in a language but the links
_PARAGRAPH_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[ \t]+")


def _paragraph(text: str) -> str:
    return _SPACES.sub(" ", _PARAGRAPH_CONTROL.sub(" ", text)).strip()


def _body_markup(blocks: list[Block], text_lang: str, lang: str) -> Markup:
    """The item's body for the HTML part: sanitised blocks, headings below the item's h2."""
    html = blocks_to_html(blocks, lang=text_lang if text_lang != lang else None, heading_shift=1)
    return Markup(_PARAGRAPH_CONTROL.sub(" ", html))


def language_endonym(lang: str) -> str:
    try:
        name = Locale.parse(lang).get_display_name(lang) or lang
    except (ValueError, LookupError):
        return lang
    return name[:1].upper() + name[1:]


class Renderer:
    def __init__(
        self, site, mail, digest, dkim, store, tokens, template_dirs: list[Path],
        translation_publish: dict[str, str], *, locale_dirs: list[Path] = (), cache_size: int = 64,
    ):
        self.site, self.mail, self.digest, self.store, self.tokens = site, mail, digest, store, tokens
        self.policies = dict(translation_publish)
        self.search_path = [str(Path(d)) for d in template_dirs if Path(d).is_dir()] + [str(PACKAGED_TEMPLATES)]
        self.locale_dirs = [Path(d) for d in locale_dirs]
        self.signer = DkimSigner.from_settings(dkim)
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str], MessageTemplate] = OrderedDict()
        self._envs: dict[str, Environment] = {}
        self._inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
        self.builds = 0  # how many MessageTemplates were built (tests check the cache with it)
        self._local = threading.local()  # per sending thread: its claimed batch's subscribers (prepare)
        self._lock = threading.RLock()  # the connections of a pool render from several threads

    # ------------------------------------------------------------------ public
    def render(self, delivery: Delivery, subscriber: Subscriber | None = None) -> OutgoingMessage:
        """The finished message for one ledger row, with the row's Message-ID once it has one
        (every retry of a delivery carries the first attempt's). Pass ``subscriber`` when the
        caller has it already (a dispatcher loading a batch); otherwise it is read from the store."""
        template = self.template(delivery)
        values = self.personal_values(delivery, subscriber)
        data, message_id = template.personalise(delivery.recipient, values, message_id=delivery.message_id)
        return OutgoingMessage(recipient=ascii_address(delivery.recipient), sender=template.sender, data=data,
                               message_id=message_id)

    def template(self, delivery: Delivery) -> MessageTemplate:
        if delivery.kind not in KINDS:
            raise RenderError(f"cannot render a message of kind {delivery.kind!r}; known kinds: {', '.join(KINDS)}")
        if delivery.lang not in self.site.languages:
            raise RenderError(f"language {delivery.lang!r} is not one of the site's {self.site.languages}")
        # a confirm message is the same for everyone in a language but the link
        personal = delivery.kind in PERSONAL_KINDS
        key = (delivery.kind, delivery.lang) if personal else (delivery.message_key, delivery.lang)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
            built = self.build(delivery.kind, delivery.lang, delivery.payload)
            self._cache[key] = built
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
            return built

    def prepare(self, batch: list[Delivery]) -> None:
        """Load the subscribers of a claimed batch in one query (dispatch calls this)."""
        ids = [d.subscriber_id for d in batch if d.subscriber_id is not None]
        # per thread: each connection of a pool prepares and renders its own batch
        self._local.prefetched = {s.id: s for s in self.store.get_subscribers(ids)} if ids else {}

    def personal_values(self, delivery: Delivery, subscriber: Subscriber | None = None) -> dict[str, str]:
        base = self.site.base_url
        if delivery.subscriber_id is None:
            if delivery.kind != "test":
                raise RenderError(f"delivery {delivery.id} ({delivery.kind}) has no subscriber (erased?)")
            sid, version, email = 0, 0, None  # a staff test send: the links lead to a "this was a test" page
        else:
            if subscriber is None or subscriber.id != delivery.subscriber_id:
                subscriber = getattr(self._local, "prefetched", {}).get(delivery.subscriber_id)
            if subscriber is None:
                subscriber = self.store.get_subscriber(delivery.subscriber_id)
            if subscriber is None:
                raise RenderError(f"delivery {delivery.id}: subscriber {delivery.subscriber_id} no longer exists")
            sid, version, email = subscriber.id, subscriber.token_version, subscriber.email
        unsubscribe = self.tokens.unsubscribe(sid, version, email)
        pages = base if email is not None else f"{base}/{delivery.lang}"  # a test message: its language's pages
        values = {"unsubscribe_url": f"{pages}/unsubscribe/{unsubscribe}",
                  "preferences_url": f"{pages}/preferences/{unsubscribe}"}
        if delivery.kind == "confirm":
            values["confirm_url"] = f"{base}/confirm/{self.tokens.confirm(sid, version)}"
        return values

    # ------------------------------------------------------------------ building
    def env(self, lang: str) -> Environment:
        env = self._envs.get(lang)
        if env is None:
            env = Environment(
                loader=FileSystemLoader(self.search_path), extensions=["jinja2.ext.i18n"],
                autoescape=select_autoescape(enabled_extensions=("html.j2", "html"), default_for_string=False),
                trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, undefined=StrictUndefined,
            )
            env.install_gettext_translations(catalogs.translations(lang, self.locale_dirs), newstyle=True)
            self._envs[lang] = env
        return env

    def build(self, kind: str, lang: str, payload: dict[str, Any]) -> MessageTemplate:
        env = self.env(lang)
        context = self._confirm_context(lang) if kind in PERSONAL_KINDS else self._digest_context(kind, lang, payload)
        context.update(MARKERS)  # per-recipient values stay markers until personalise()
        prefix = kind if kind in PERSONAL_KINDS else "digest"
        subject_name = f"{kind}_subject.txt.j2" if kind in PERSONAL_KINDS else "subject.txt.j2"
        try:
            subject = shorten(env.get_template(subject_name).render(context), self.mail.max_subject_chars)
            context["subject"] = subject
            html = env.get_template(f"{prefix}.html.j2").render(context)
            text = env.get_template(f"{prefix}.txt.j2").render(context)
        except TemplateError as exc:
            raise RenderError(f"e-mail template problem ({kind}, {lang}): {exc}") from None
        html = self._inliner.inline(html)
        self.builds += 1
        return MessageTemplate(
            sender=self.mail.from_, subject=subject, html_body=html, text_body=text, lang=lang,
            list_id=self.mail.list_id, reply_to=self.mail.reply_to, unsubscribe_mailto=self.mail.unsubscribe_mailto,
            # Precedence: bulk on confirmations too (as Mailman does): it stops vacation
            # auto-replies, and with List-Id + List-Unsubscribe marks honest list mail
            bulk=True, signer=self.signer,
        )

    def _gettext(self, lang: str):
        return catalogs.translations(lang, self.locale_dirs)

    def _base_context(self, kind: str, lang: str) -> dict[str, Any]:
        return {"kind": kind, "lang": lang, "site_name": self.site.name, "base_url": self.site.base_url}

    def _confirm_context(self, lang: str) -> dict[str, Any]:
        t = self._gettext(lang)
        context = self._base_context("confirm", lang)
        context["valid_hours"] = format_decimal(self.mail.confirm_max_age_hours, locale=lang)
        context["preheader"] = t.gettext("Please confirm that you want to receive press releases from %(site)s by email.") % {
            "site": self.site.name}
        return context

    def _digest_context(self, kind: str, lang: str, payload: dict[str, Any]) -> dict[str, Any]:
        t = self._gettext(lang)
        if kind == "release":
            ids = [int(payload["release"])] if payload.get("release") is not None else []
        else:
            ids = [int(i) for i in payload.get("releases", [])]
        if kind == "test" and not ids:
            policy = self.policies.get(lang, "machine")
            ids = [r.id for r, _ in self.store.publishable(lang, self.site.source_language, policy, limit=3)]
            if not ids:  # nothing in that language yet: the originals
                ids = [r.id for r, _ in self.store.publishable(self.site.source_language, self.site.source_language,
                                                               limit=3)]
        items = self._items(ids, lang)
        if not items and kind == "test":  # an empty site can still test its mail path
            items = [{"id": 0, "uid": "test", "title": clean_header(t.gettext("Test message")), "text_lang": lang,
                      "paragraphs": [], "body_html": "", "url": self.site.base_url + "/", "others": [], "note": "", "published": ""}]
        if not items:
            raise RenderError(f"{kind} message in {lang}: none of the releases {ids} exists any more")
        frequency = payload.get("frequency", "daily")
        heading = {
            "release": t.gettext("New press release"), "test": t.gettext("Test message"),
            "digest": t.gettext("Weekly digest") if frequency == "weekly" else t.gettext("Daily digest"),
        }[kind]
        count = len(items)
        count_line = t.ngettext("%(num)s new press release", "%(num)s new press releases", count) % {
            "num": format_decimal(count, locale=lang)}
        titles = "; ".join(item["title"] for item in items)
        preheader = titles if count == 1 else f"{count_line}: {titles}"
        if len(preheader) > 140:
            preheader = preheader[:139].rsplit(" ", 1)[0] + "…"
        context = self._base_context(kind, lang)
        context.update(heading=heading, items=items, count=count, count_line=count_line, preheader=preheader,
                       period_label=self._period_label(kind, frequency, payload.get("period"), lang))
        return context

    def _period_label(self, kind: str, frequency: str, period: str | None, lang: str) -> str:
        if kind != "digest" or not period:
            return ""
        from ..digest import period_bounds

        zone = self.site.zone
        try:
            start, end = period_bounds(frequency, period, zone)
        except ValueError as exc:
            raise RenderError(str(exc)) from None
        first = start.astimezone(zone).date()
        if frequency == "weekly":
            last = (end.astimezone(zone) - dt.timedelta(hours=1)).date()
            return format_interval(first, last, "yMMMMd", locale=lang)
        return format_date(first, "full", locale=lang)

    def _items(self, ids: list[int], lang: str) -> list[dict[str, Any]]:
        t = self._gettext(lang)
        # a release held for a language mismatch since it was queued is not sent (issue 9)
        releases: list[StoredRelease] = [r for r in (self.store.get_release(i) for i in ids)
                                         if r is not None and not r.held]
        published = self.store.published_languages([r.id for r in releases], self.policies)
        policy = self.policies.get(lang, "machine")
        zone, base = self.site.zone, self.site.base_url
        items = []
        for release in releases:
            source = release.language  # the original's language (staff may confirm another than the site's)
            title, paragraphs, text_lang, note = release.title, release.paragraphs, source, ""
            structured = release.body_html
            if lang != source:
                variant = self.store.get_translation(release.id, lang)
                if variant is not None and self.store.is_publishable(variant, policy):  # issue 11: "checked"
                    title, paragraphs, text_lang = variant.title, variant.paragraphs, lang
                    structured = variant.body_html
                    if variant.machine and variant.status in (TranslationStatus.MACHINE, TranslationStatus.REVIEWED):
                        note = self._machine_note(t, lang, source, via(variant.engine))
                else:
                    note = t.gettext("Not translated yet: this is the original text.")
            available = {source, *published.get(release.id, [])}
            others = [
                {"lang": other, "name": language_endonym(other), "url": f"{base}/releases/{release.uid}/{other}"}
                for other in self.site.languages if other in available and other != text_lang
            ]
            paragraphs = [p for p in paragraphs if p.strip()]
            blocks = body_blocks(paragraphs, structured)  # issue 9: links, emphasis, lists, headings
            if self.digest.content == "lead":
                first = lead_index(blocks)
                paragraphs, blocks = paragraphs[first : first + 1], blocks[first : first + 1]
            local = release.published_at.astimezone(zone)
            items.append({
                "id": release.id, "uid": release.uid, "title": clean_header(title), "text_lang": text_lang,
                "paragraphs": [p for p in (_paragraph(p) for p in paragraphs) if p],
                "body_html": _body_markup(blocks, text_lang, lang),
                "url": f"{base}/releases/{release.uid}/{text_lang}", "others": others, "note": note,
                "published": f"{format_date(local, 'long', locale=lang)}, {format_time(local, 'short', locale=lang)}",
            })
        return items

    @staticmethod
    def _machine_note(t, lang: str, source: str, pivot: str | None = None) -> str:
        if source == "mk" and not pivot:
            return t.gettext("Machine translation from Macedonian.")
        from ..feeds.content import machine_note

        return machine_note(lang, source, via=pivot)  # a pivot route: "… via English."
