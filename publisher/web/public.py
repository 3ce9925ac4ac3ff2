"""Public pages in every site language: subscribe (double opt-in), confirm, preferences,
unsubscribe (with RFC 8058 one-click), release pages. Tokens in the links are the authority on
the token pages; the subscribe form carries a CSRF token bound to the visitor's session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..delivery.tokens import LinkState, TokenError, check_link
from ..errors import PublisherError
from ..models import Frequency, SubscriberStatus, TranslationStatus
from ..subscriptions import check_choice, confirm, send_current_links, subscribe, unsubscribe
from .newsroom import home_alternates, home_releases, open_graph
from .security import CSRF_FIELD, client_ip, csrf_ok, same_origin

if TYPE_CHECKING:
    from .context import WebContext

FREQUENCIES = [f.value for f in Frequency]


class PublicPages:
    def __init__(self, ctx: WebContext):
        self.ctx = ctx
        self.app, self.pages = ctx.app, ctx.pages

    def routes(self) -> list[Route]:
        r: list[Route] = [Route("/", self.root), Route("/{lang}/", self.home),
                          Route("/{lang}/subscribe", self.subscribe, methods=["GET", "POST"]),
                          Route("/releases/{uid}/{lang}", self.release)]
        for name, handler in (("confirm", self.confirm), ("preferences", self.preferences),
                              ("unsubscribe", self.unsubscribe)):
            r.append(Route(f"/{name}/{{token}}", handler, methods=["GET", "POST"]))
            r.append(Route(f"/{{lang}}/{name}/{{token}}", handler, methods=["GET", "POST"]))
        return r

    # ------------------------------------------------------------------ helpers
    def _lang(self, request: Request, fallback: str | None = None) -> str | None:
        """The URL prefix when there is one (None: unknown prefix → 404), else fallback/Accept-Language."""
        prefix = request.path_params.get("lang")
        if prefix is not None:
            return prefix if prefix in self.pages.languages else None
        return self.pages.negotiate(request, fallback)

    def _text(self, lang: str, message: str, **values: Any) -> str:
        return self.pages.gettext(lang, message, **values)

    def not_found(self, request: Request, lang: str | None = None) -> Response:
        prefix = request.url.path.strip("/").split("/")[0]  # /en/missing: in English (issue 13: its feeds too)
        lang = lang or self.pages.negotiate(request, prefix if prefix in self.pages.languages else None)
        return self.pages.render(request, "message.html.j2", lang, 404, switch_path="/",
                                 title=self._text(lang, "Page not found"),
                                 message=self._text(lang, "There is nothing at this address."))

    # ------------------------------------------------------------------ subscribe
    async def root(self, request: Request) -> Response:
        return RedirectResponse(f"/{self.pages.negotiate(request)}/", status_code=303,
                                headers={"Vary": "Accept-Language"})

    async def home(self, request: Request) -> Response:
        lang = self._lang(request)
        if lang is None:
            return self.not_found(request)
        releases = await run_in_threadpool(home_releases, self.app.settings, self.app.store, lang)  # issue 13
        return self._form(request, lang, {"lang": lang, "frequency": "weekly", "email": ""}, releases=releases)

    def _form(self, request: Request, lang: str, values: dict[str, str], error: str = "",
              status: int = 200, releases: list[dict[str, Any]] | None = None) -> Response:
        return self.pages.render(request, "subscribe.html.j2", lang, status, switch_path="/",
                                 title=self._text(lang, "Subscribe to press releases"), values=values, error=error,
                                 frequencies=FREQUENCIES, releases=releases,
                                 alternates=home_alternates(self.app.settings),
                                 canonical=f"{self.app.settings.site.base_url}/{lang}/")

    async def subscribe(self, request: Request) -> Response:
        lang = self._lang(request)
        if lang is None:
            return self.not_found(request)
        if request.method == "GET":
            return RedirectResponse(f"/{lang}/", status_code=303)
        form = await request.form()
        values = {k: str(form.get(k, "")) for k in ("email", "lang", "frequency")}
        if not csrf_ok(request, form.get(CSRF_FIELD)) or not same_origin(request, self.app.settings.site.base_url):
            return self._form(request, lang, values, self._text(
                lang, "The form had expired. Please try again."), 400)
        wait = self.ctx.limiter.hit("subscribe", client_ip(request))
        if wait is not None:
            response = self._form(request, lang, values, self._text(
                lang, "Too many attempts. Please try again in a few minutes."), 429)
            response.headers["Retry-After"] = str(int(wait))
            return response
        settings = self.app.settings
        try:
            check_choice(values["lang"] or lang, values["frequency"] or "weekly", settings.site.languages)
            await run_in_threadpool(subscribe, self.app.store, values["email"], values["lang"] or lang,
                                    values["frequency"] or "weekly", settings.site.languages, "web")
        except PublisherError as exc:
            message = self._text(lang, "Please check the address and your choices.")
            if "not a valid e-mail address" in str(exc):
                message = self._text(lang, "This is not a valid e-mail address.")
            return self._form(request, lang, values, message, 400)
        # the same answer whether the address was new, pending or already confirmed (no enumeration)
        return self.pages.render(request, "message.html.j2", lang, switch_path="/",
                                 title=self._text(lang, "Check your inbox"),
                                 message=self._text(lang, "We sent you an e-mail with a link. Open it to confirm "
                                                          "your subscription."))

    # ------------------------------------------------------------------ token pages
    def _link(self, token: str) -> tuple[LinkState, Any]:
        """Which case the link is (current, outdated, a test message, erased, invalid) and the
        subscriber behind it now (tokens.check_link)."""
        return check_link(self.app.tokens, token, self.app.store.get_subscriber)

    async def confirm(self, request: Request) -> Response:
        token = request.path_params["token"]
        hours = self.app.settings.mail.confirm_max_age_hours
        try:
            sid, version = self.app.tokens.read_confirm(token, hours * 3600)
            subscriber = await run_in_threadpool(self.app.store.get_subscriber, sid)
        except TokenError:
            subscriber, version = None, -1
        lang = self._lang(request, subscriber.lang if subscriber else None)
        if lang is None:
            return self.not_found(request)
        path = f"/confirm/{token}"
        if subscriber is None or subscriber.token_version != version:
            return self.pages.render(request, "message.html.j2", lang, 400, switch_path=path,
                                     title=self._text(lang, "This link is not valid"),
                                     message=self._text(lang, "The link has expired or was replaced by a newer one. "
                                                              "Subscribe again to get a new link."),
                                     link={"url": f"/{lang}/", "text": self._text(lang, "Subscribe")})
        if request.method == "POST" or subscriber.status is SubscriberStatus.CONFIRMED:
            if request.method == "POST":
                subscriber = await run_in_threadpool(confirm, self.app.store, sid, version)
            return self.pages.render(request, "message.html.j2", lang, switch_path=path,
                                     title=self._text(lang, "Subscription confirmed"),
                                     message=self._text(lang, "Thank you. You will receive press releases by e-mail."))
        # GET shows a button: link scanners that fetch every URL in a mail confirm nobody
        return self.pages.render(request, "action.html.j2", lang, switch_path=path,
                                 title=self._text(lang, "Confirm your subscription"), email=subscriber.email,
                                 action=f"/{lang}{path}", button=self._text(lang, "Confirm subscription"))

    async def preferences(self, request: Request) -> Response:
        token = request.path_params["token"]
        state, subscriber = await run_in_threadpool(self._link, token)
        lang = self._lang(request, subscriber.lang if subscriber else None)
        if lang is None:
            return self.not_found(request)
        path, saved, error = f"/preferences/{token}", False, ""
        if state in (LinkState.INVALID, LinkState.GONE):
            return self._invalid_link(request, lang, path)
        if state is not LinkState.CURRENT:
            return await self._not_current(request, lang, path, state, subscriber)
        if request.method == "POST":
            form = await request.form()
            try:
                code, freq = check_choice(str(form.get("lang", "")), str(form.get("frequency", "")),
                                          self.app.settings.site.languages)
                subscriber = await run_in_threadpool(self.app.store.update_subscriber, subscriber.id, code, freq.value)
                saved = True
            except PublisherError:
                error = self._text(lang, "Please check the address and your choices.")
        return self.pages.render(request, "preferences.html.j2", lang, 400 if error else 200, switch_path=path,
                                 title=self._text(lang, "Your subscription"), subscriber=subscriber, saved=saved,
                                 error=error, frequencies=FREQUENCIES, action=f"/{lang}{path}",
                                 unsubscribe_url=f"/{lang}/unsubscribe/{token}")

    def _invalid_link(self, request: Request, lang: str, path: str) -> Response:
        return self.pages.render(request, "message.html.j2", lang, 404, switch_path=path,
                                 title=self._text(lang, "This link is not valid"),
                                 message=self._text(lang, "This link is not valid."))

    def _unsubscribed(self, request: Request, lang: str, path: str, again: bool = False) -> Response:
        extra = {"link": {"url": f"/{lang}/", "text": self._text(lang, "Subscribe again")}} if again else {}
        return self.pages.render(request, "message.html.j2", lang, switch_path=path,
                                 title=self._text(lang, "You are unsubscribed"),
                                 message=self._text(lang, "You will receive no more e-mails from us."), **extra)

    async def _not_current(self, request: Request, lang: str, path: str, state: LinkState,
                           subscriber: Any) -> Response:
        """A link from a staff test message, or one from before the person subscribed again:
        it changes nothing, and the page says so (and offers the current links by mail)."""
        if state is LinkState.TEST:
            return self.pages.render(request, "message.html.j2", lang, switch_path=path,
                                     title=self._text(lang, "This was a test message"),
                                     message=self._text(lang, "This link came in a test message from %(site)s. No "
                                                              "subscription belongs to it: there is nothing to change "
                                                              "here, and nobody was unsubscribed.",
                                                        site=self.app.settings.site.name),
                                     link={"url": f"/{lang}/", "text": self._text(lang, "Subscribe")})
        if subscriber.status is SubscriberStatus.PENDING:
            return self.pages.render(request, "message.html.j2", lang, switch_path=path,
                                     title=self._text(lang, "This link is outdated"),
                                     message=self._text(lang, "You subscribed again after this e-mail was sent. "
                                                              "Please confirm the new subscription with the link in "
                                                              "our confirmation e-mail."))
        if subscriber.status is not SubscriberStatus.CONFIRMED:
            return self._unsubscribed(request, lang, path, again=True)
        if request.method == "POST" and (await request.form()).get("send_links"):
            await run_in_threadpool(send_current_links, self.app.store, subscriber)
            return self.pages.render(request, "message.html.j2", lang, switch_path=path,
                                     title=self._text(lang, "Check your inbox"),
                                     message=self._text(lang, "We sent the links to your current subscription to "
                                                              "your e-mail address."))
        return self.pages.render(request, "outdated.html.j2", lang, switch_path=path,
                                 title=self._text(lang, "This link is outdated"),
                                 message=self._text(lang, "You subscribed again after this e-mail was sent, so its "
                                                          "links no longer apply. We can send the links to your "
                                                          "current subscription to your e-mail address."),
                                 action=f"/{lang}{path}", button=self._text(lang, "Send me the current links"))

    async def unsubscribe(self, request: Request) -> Response:
        """GET: a page with one button. POST: unsubscribe, from that button or from a mail
        client's RFC 8058 one-click POST (body List-Unsubscribe=One-Click, no cookie, no CSRF
        token possible: the signed token in the URL is the authority). Only the current link
        unsubscribes; an outdated one or a test message's says what it is."""
        token = request.path_params["token"]
        state, subscriber = await run_in_threadpool(self._link, token)
        lang = self._lang(request, subscriber.lang if subscriber else None)
        if lang is None:
            return self.not_found(request)
        path = f"/unsubscribe/{token}"
        if state is LinkState.INVALID:
            return self._invalid_link(request, lang, path)
        if state is LinkState.GONE:  # erased: nothing is sent to it any more, which is what was asked
            return self._unsubscribed(request, lang, path)
        if state is not LinkState.CURRENT:
            return await self._not_current(request, lang, path, state, subscriber)
        if request.method == "POST":
            await run_in_threadpool(unsubscribe, self.app.store, subscriber.id, subscriber.token_version)
            return self._unsubscribed(request, lang, path, again=True)
        if subscriber.status is SubscriberStatus.UNSUBSCRIBED:
            return self._unsubscribed(request, lang, path)
        return self.pages.render(request, "action.html.j2", lang, switch_path=path,
                                 title=self._text(lang, "Unsubscribe"), email=subscriber.email,
                                 action=f"/{lang}{path}", button=self._text(lang, "Unsubscribe"))

    # ------------------------------------------------------------------ releases
    async def release(self, request: Request) -> Response:
        uid, lang = request.path_params["uid"], request.path_params["lang"]
        if lang not in self.pages.languages:
            return self.not_found(request)
        data = await run_in_threadpool(self._release_data, uid, lang)
        if data is None:
            return self.not_found(request, lang)
        return self.pages.render(request, "release.html.j2", lang, switch_path=None, **data)

    def _release_data(self, uid: str, lang: str) -> dict[str, Any] | None:
        import datetime as dt

        from babel.dates import format_datetime

        from ..feeds.content import machine_note
        from ..translate.pivot import via

        settings, store = self.app.settings, self.app.store
        release = store.get_release(uid)
        # embargoed, or held for a language mismatch (issue 9): not there for readers
        if release is None or release.uid != uid or not release.visible(dt.datetime.now(dt.UTC)):
            return None
        source = release.language  # the original's language (staff may confirm another than the site's)
        policies = {code: settings.translation.publish.get(code, "review") for code in settings.site.languages}
        available = [source, *store.published_languages([release.id], policies).get(release.id, [])]
        title, paragraphs, text_lang, note = release.title, release.paragraphs, source, ""
        structured = release.body_html  # issue 9: links, emphasis, lists, headings
        if lang != source:
            variant = store.get_translation(release.id, lang) if lang in available else None
            if variant is not None:
                title, paragraphs, text_lang = variant.title, variant.paragraphs, lang
                structured = variant.body_html
                if variant.machine and variant.status in (TranslationStatus.MACHINE, TranslationStatus.REVIEWED):
                    pivot = via(variant.engine)  # a pivot route: "… via English."
                    note = self._text(lang, "Machine translation from Macedonian.") if source == "mk" and not pivot \
                        else machine_note(lang, source, via=pivot)
            else:
                note = self._text(lang, "Not translated yet: this is the original text.")
        base = settings.site.base_url
        alternates = [{"lang": code, "url": f"{base}/releases/{release.uid}/{code}"} for code in settings.site.languages
                      if code in available]
        published = format_datetime(release.published_at.astimezone(settings.site.zone), "long", locale=lang)
        canonical = f"{base}/releases/{release.uid}/{text_lang}"
        og = open_graph(settings, release, title, paragraphs, structured, text_lang, canonical,
                        [a["lang"] for a in alternates])  # issue 13
        return {"title": title, "paragraphs": paragraphs, "text_lang": text_lang, "note": note, "og": og,
                "body_html": _body_markup(paragraphs, structured),
                "alternates": alternates, "published": published, "release": release,
                "canonical": canonical,
                "switch": [{"lang": a["lang"], "name": _endonym(a["lang"]), "url": f"/releases/{release.uid}/{a['lang']}"}
                           for a in alternates]}


def _body_markup(paragraphs: list[str], structured: str | None) -> Any:
    """The release body as sanitised blocks (publisher.structure), safe to put in the page."""
    from markupsafe import Markup

    from ..structure import blocks_to_html, body_blocks

    return Markup(blocks_to_html(body_blocks(paragraphs, structured)))


def _endonym(code: str) -> str:
    from ..delivery.render import language_endonym

    return language_endonym(code)
