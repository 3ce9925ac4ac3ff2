"""The public archive ``/{lang}/releases`` (issue 13): every release published in that language,
newest first, ``PAGE_SIZE`` a page (``?page=N``), with search (``?q=``).

Which releases appear is the store's one "publishable" selection (``Store.archive`` in
store/search.py, on the same query as the feeds and ``/{lang}/``); each item is rendered as on the
home page (``newsroom.release_item``: the text shown in that language, local date, machine label)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..feeds.spec import policy
from .newsroom import release_item

if TYPE_CHECKING:
    from .context import WebContext

PAGE_SIZE = 20
MAX_QUERY_CHARS = 200
MAX_PAGE = 100_000  # beyond any archive: a bigger number is not a page


def archive_url(lang: str, query: str = "", page: int = 1) -> str:
    params = {**({"q": query} if query else {}), **({"page": str(page)} if page > 1 else {})}
    return f"/{lang}/releases" + (f"?{urlencode(params)}" if params else "")


def parse_page(raw: str | None) -> int | None:
    """``?page=`` as a page number (1 when absent); None when it is not one."""
    if raw is None or raw == "":
        return 1
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        return None
    number = int(text)
    return number if 1 <= number <= MAX_PAGE else None


class ArchivePages:
    def __init__(self, ctx: WebContext):
        self.app, self.pages = ctx.app, ctx.pages

    def routes(self) -> list[Route]:
        return [Route("/{lang}/releases", self.archive, methods=["GET", "HEAD"])]

    def _message(self, request: Request, lang: str, status: int, title: str, message: str,
                 link: dict[str, str] | None = None) -> Response:
        extra = {"link": link} if link else {}
        return self.pages.render(request, "message.html.j2", lang, status, switch_path="/releases",
                                 title=title, message=message, **extra)

    async def archive(self, request: Request) -> Response:
        lang = request.path_params["lang"]
        text = self.pages.gettext
        if lang not in self.pages.languages:
            lang = self.pages.negotiate(request)
            return self._message(request, lang, 404, text(lang, "Page not found"),
                                 text(lang, "There is nothing at this address."))
        query = " ".join(request.query_params.get("q", "").split())[:MAX_QUERY_CHARS]
        page = parse_page(request.query_params.get("page"))
        if page is None:
            return self._message(request, lang, 400, text(lang, "This is not a page number"),
                                 text(lang, "The page must be a whole number from 1 up, such as ?page=2."),
                                 {"url": archive_url(lang, query), "text": text(lang, "First page")})
        total, items = await run_in_threadpool(self._items, lang, query, page)
        pages = max(1, -(-total // PAGE_SIZE))
        if page > pages:
            return self._message(request, lang, 404, text(lang, "No such page"),
                                 text(lang, "The archive has %(pages)s pages; there is no page %(page)s.",
                                      pages=pages, page=page),
                                 {"url": archive_url(lang, query, pages), "text": text(lang, "Last page")})
        base = self.app.settings.site.base_url
        return self.pages.render(
            request, "archive.html.j2", lang, switch_path="/releases",
            title=text(lang, "Release archive"), query=query, items=items, total=total, page=page, pages=pages,
            previous=archive_url(lang, query, page - 1) if page > 1 else None,
            next=archive_url(lang, query, page + 1) if page < pages else None,
            canonical=base + archive_url(lang, query, page),
            alternates=[{"lang": code, "url": base + archive_url(code, query, page)} for code in self.pages.languages],
            switch=[{"lang": code, "name": _endonym(code), "url": archive_url(code, query, page)}
                    for code in self.pages.languages],
        )

    def _items(self, lang: str, query: str, page: int) -> tuple[int, list[dict[str, Any]]]:
        settings = self.app.settings
        total, rows = self.app.store.archive(lang, policy(settings, lang), query or None,
                                             offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        return total, [release_item(settings, lang, release, variant) for release, variant in rows]


def _endonym(code: str) -> str:
    from ..delivery.render import language_endonym

    return language_endonym(code)
