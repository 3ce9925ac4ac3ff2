"""Releases held for a language mismatch (issue 9), and the staff decision that ends the hold.

Ingest holds a release whose language (declared, else detected) is not ``[site]
source_language`` when ``[cleaning] on_language_mismatch = "hold"``: it is stored with
``language_status = held``, and the store's shared selections (``Store.publishable``,
``publishable_keys``, ``published_languages``, ``translation_work``) leave it out, so no feed,
digest, immediate mail, release page or translation sees it. Staff then confirm its language:
the source language (published as usual) or the language it is really in (published in that
language's feed as the original and translated from it into the site's other languages).
The CLI, the JSON API and the staff pages all call :func:`confirm_language`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import PublisherError
from .lang import normalise_lang
from .models import LanguageStatus, StoredRelease

if TYPE_CHECKING:
    from .settings import Settings
    from .store import Store


class UnknownRelease(PublisherError):
    """No release with that id or uid."""


def confirm_language(settings: Settings, store: Store, release_key: int | str, language: str) -> StoredRelease:
    """Staff: the release is in ``language`` (one of the site's languages). Ends a hold."""
    languages = settings.site.languages
    try:
        code = normalise_lang(str(language))
    except ValueError as exc:
        raise PublisherError(f"{exc}; this site's languages are {', '.join(languages)}") from None
    if code not in languages:
        raise PublisherError(
            f"{code!r} is not one of this site's languages ({', '.join(languages)}); a release is published "
            "in a site language: add the language to [site] target_languages first if it should be one"
        )
    release = store.confirm_release_language(release_key, code)
    if release is None:
        raise UnknownRelease(f"no release {release_key}; `publisher releases list --held` shows the held ones")
    return release


def held_releases(store: Store, limit: int = 100) -> list[StoredRelease]:
    return store.list_releases(limit=limit, language_status=LanguageStatus.HELD.value)


def hold_json(release: StoredRelease) -> dict[str, Any]:
    """The language state of a release, as the CLI and the API show it."""
    return {"language": release.language, "language_status": release.language_status,
            "detected_language": release.detected_language}


def hold_label(release: StoredRelease) -> str:
    """Short text for tables: 'mk', 'sq? held', 'sq (confirmed)', 'mk (sq detected)'."""
    if release.held:
        return f"{release.detected_language or release.language}? held"
    if release.language_status == LanguageStatus.CONFIRMED:
        return f"{release.language} (confirmed)"
    if release.detected_language and release.detected_language != release.language:
        return f"{release.language} ({release.detected_language} detected)"
    return release.language
