"""Language codes in one normalised form: lower-case ISO 639-1 (``mk``, ``en``, ``sq``)."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _known() -> tuple[frozenset[str], dict[str, str]]:
    from lingua import Language

    two: set[str] = set()
    three: dict[str, str] = {}
    for language in Language.all():
        code = language.iso_code_639_1.name.lower()
        two.add(code)
        three[language.iso_code_639_3.name.lower()] = code
    # bibliographic ISO 639-2/B codes still seen in the wild
    three.update({"mac": "mk", "alb": "sq", "ger": "de", "fre": "fr", "gre": "el", "scc": "sr"})
    return frozenset(two), three


def normalise_lang(value: str) -> str:
    """Return the ISO 639-1 code for ``value`` ("MK", "mk-MK", "mkd", "sq_AL" → "mk"/"sq").

    Raises ValueError naming the value when it is not a language lingua knows.
    """
    text = str(value).strip().lower().replace("_", "-")
    base = text.split("-", 1)[0]
    two, three = _known()
    if base in two:
        return base
    if base in three:
        return three[base]
    raise ValueError(
        f"{value!r} is not a known language code; use an ISO 639-1 code such as 'mk', 'en' or 'sq'"
    )
