"""Page rendering shared by the public and staff pages: Jinja2 (autoescaped) + the gettext
catalogs of publisher.locale, language from the URL, the subscriber or Accept-Language."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from .. import locale as catalogs
from ..delivery.render import language_endonym
from .newsroom import feed_links
from .security import CSRF_FIELD, csrf_token

if TYPE_CHECKING:
    from ..settings import Settings

PACKAGED = Path(__file__).resolve().parent.parent / "templates"


def parse_accept_language(header: str | None, offered: list[str]) -> str | None:
    """The best offered language of an Accept-Language header (q-values honoured)."""
    if not header:
        return None
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        code = tag.strip().lower().split("-")[0]
        if code == "sr" and "mk" in offered:
            continue  # never guess Macedonian from Serbian
        if code in offered and quality > 0:
            choices.append((-quality, index, code))
    return min(choices)[2] if choices else None


class Pages:
    def __init__(self, settings: Settings):
        self.settings = settings
        site = settings.base_dir
        search = [site / "templates" / "web", site / "templates", PACKAGED / "web"]
        self.locale_dirs = [site / "locale"] if (site / "locale").is_dir() else []
        self.search_path = [str(p) for p in search if p.is_dir()]
        self._envs: dict[str, Environment] = {}

    @property
    def languages(self) -> list[str]:
        return self.settings.site.languages

    def env(self, lang: str) -> Environment:
        env = self._envs.get(lang)
        if env is None:
            env = Environment(loader=FileSystemLoader(self.search_path), extensions=["jinja2.ext.i18n"],
                              autoescape=select_autoescape(default=True, default_for_string=True),
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
            env.install_gettext_translations(catalogs.translations(lang, self.locale_dirs), newstyle=True)
            env.globals.update(endonym=language_endonym)
            self._envs[lang] = env
        return env

    def gettext(self, lang: str, message: str, **values: Any) -> str:
        text = catalogs.translations(lang, self.locale_dirs).gettext(message)
        return text % values if values else text

    def negotiate(self, request: Request, preferred: str | None = None) -> str:
        """URL prefix (given as ``preferred`` by the route) > Accept-Language > source language."""
        if preferred in self.languages:
            return preferred  # type: ignore[return-value]
        return parse_accept_language(request.headers.get("accept-language"), self.languages) \
            or self.settings.site.source_language

    def render(self, request: Request, name: str, lang: str, status_code: int = 200,
               switch_path: str | None = None, **context: Any) -> HTMLResponse:
        """``switch_path``: the path after the language prefix, for the language switcher."""
        path = switch_path if switch_path is not None else request.url.path
        context.setdefault("title", "")
        context.setdefault("feed_links", feed_links(self.settings, lang))  # issue 13: every page names its feeds
        context.setdefault("switch", [{"lang": code, "name": language_endonym(code), "url": f"/{code}{path}"}
                                      for code in self.languages])
        html = self.env(lang).get_template(name).render(
            request=request, lang=lang, languages=self.languages, site_name=self.settings.site.name,
            csrf_field=CSRF_FIELD, csrf_token=lambda: csrf_token(request), staff=request.scope.get("staff_user"),
            **context,
        )
        return HTMLResponse(html, status_code=status_code, headers={"Content-Language": lang, "Vary": "Accept-Language"})
