"""Gettext catalogs of what subscribers read (mk, en, sq), compiled at run time.

The ``.po`` files in ``{lang}/LC_MESSAGES/messages.po`` are the only source: they are read
and compiled in memory with Babel on first use (a few milliseconds), so no binary ``.mo``
file is kept in git or can drift from its source. A site may put its own ``messages.po`` in
``<site>/locale/{lang}/LC_MESSAGES/``; its entries win over the packaged ones.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from ..errors import ConfigError

LOCALE_DIR = Path(__file__).parent
DOMAIN = "messages"


def compile_po(path: Path, lang: str) -> gettext.GNUTranslations:
    try:
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=lang, domain=DOMAIN, abort_invalid=True)
    except Exception as exc:  # noqa: BLE001 (babel raises PoFileError, ValueError, …)
        raise ConfigError(f"{path} is not a valid gettext catalog: {exc}") from None
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@lru_cache(maxsize=32)
def _load(lang: str, extra_dirs: tuple[Path, ...]) -> gettext.NullTranslations:
    chain: gettext.NullTranslations | None = None
    for base in (*extra_dirs, LOCALE_DIR):
        path = Path(base) / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not path.is_file():
            continue
        catalog = compile_po(path, lang)
        if chain is None:
            chain = catalog
        else:
            chain.add_fallback(catalog)
    return chain if chain is not None else gettext.NullTranslations()


def translations(lang: str, extra_dirs: Sequence[Path] = ()) -> gettext.NullTranslations:
    """The catalog for ``lang`` (site folders first, packaged last; English text if none)."""
    return _load(lang, tuple(Path(d) for d in extra_dirs))


def available() -> list[str]:
    return sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
