"""Glossary: terms kept as they are and terms with forced translations, protected by masking.

File format (TOML; CSV with the same columns also works):

    [[terms]]
    mk = ["ИОМ"]              # source forms to find (a list, or one string)
    keep = "IOM"              # shown as this in every target language

    [[terms]]
    mk = ["управување* со границите"]   # `*` after a word: any ending (управувањето, …)
    en = "border management"
    sq = "menaxhimi i kufijve"

Forms in capitals (acronyms) match case-sensitively, others case-insensitively; whole words
only; the longest form wins. Before the engine, each match becomes a placeholder token
(``XGLX1``) that engines leave alone; after it, the token becomes the term's rendering in the
target language (capitalised at a sentence start). A token the engine lost is a QA failure.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..lang import normalise_lang

TOKEN = "XGLX{}"
_TOKEN_RE = re.compile(r"X\s?GLX\s?(\d+)", re.IGNORECASE)
# kept verbatim whatever the glossary says: URLs, e-mail addresses, and Latin-script names
# quoted inside Cyrillic text („Skopje Declaration“, "I'm A Celebrity"), which engines mangle
VERBATIM = re.compile(
    r"\b(?:https?://|www\.)[^\s<>„“”\"')]+[^\s<>„“”\"').,;:!?]"
    r"|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"
    r"|(?<=[„“\"«])[A-Za-z0-9][^„“”\"«»\u0400-\u04FF]{0,78}[A-Za-z0-9.!?’')](?=[“”\"»])"
)


@dataclass(frozen=True)
class Term:
    forms: tuple[str, ...]
    renderings: dict[str, str]  # lang → text ("*" for keep)
    line: int = 0

    def render(self, lang: str) -> str | None:
        return self.renderings.get(lang) or self.renderings.get("*")


@dataclass
class Masked:
    text: str
    terms: list[Term] = field(default_factory=list)  # index i ↔ token XGLX{i+1}


def _form_regex(form: str) -> str:
    words = form.split()
    parts = []
    for word in words:
        star = word.endswith("*")
        core = re.escape(word.rstrip("*"))
        parts.append(core + (r"\w*" if star else ""))
    return r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)"


class Glossary:
    def __init__(self, terms: list[Term], origin: str = "glossary"):
        self.terms = terms
        self.origin = origin
        entries: list[tuple[int, str, Term]] = []
        for term in terms:
            for form in term.forms:
                entries.append((len(form), form, term))
        entries.sort(key=lambda e: -e[0])
        self._patterns = [
            (re.compile(_form_regex(form), 0 if form.isupper() else re.IGNORECASE), term)
            for _, form, term in entries
        ]

    # ------------------------------------------------------------------ loading
    @classmethod
    def empty(cls) -> Glossary:
        return cls([], "no glossary")

    @classmethod
    def load(cls, path: Path | None) -> Glossary:
        if path is None or not Path(path).exists():
            return cls.empty()
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise ConfigError(f"glossary {path} is not UTF-8; save it as UTF-8") from None
        rows: list[tuple[int, dict]] = []
        if path.suffix.lower() == ".csv":
            reader = csv.DictReader(io.StringIO(text))
            rows = [(n + 2, {k.strip(): (v or "").strip() for k, v in row.items() if k}) for n, row in enumerate(reader)]
            for _, row in rows:
                row["mk"] = [f.strip() for f in row.get("mk", "").split("|") if f.strip()]
        else:
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"glossary {path} is not valid TOML: {exc}") from None
            unknown = set(data) - {"terms"}
            if unknown:
                raise ConfigError(f"glossary {path}: unknown table(s) {sorted(unknown)}; use [[terms]] entries")
            rows = [(n + 1, dict(entry)) for n, entry in enumerate(data.get("terms", []))]
        return cls([cls._term(path, n, row) for n, row in rows], str(path))

    @staticmethod
    def _term(path: Path, n: int, row: dict) -> Term:
        where = f"glossary {path}, entry {n}"
        forms = row.pop("mk", [])
        if isinstance(forms, str):
            forms = [forms]
        if not forms or not all(isinstance(f, str) and f.strip() for f in forms):
            raise ConfigError(f"{where}: `mk` must list at least one source form")
        keep = row.pop("keep", "") or ""
        renderings: dict[str, str] = {}
        if keep:
            renderings["*"] = str(keep)
        for lang, value in row.items():
            try:
                if normalise_lang(lang) != lang:
                    raise ValueError(lang)
            except ValueError:
                raise ConfigError(f"{where}: unknown key {lang!r}; use mk, keep, or a language code such as en, sq") from None
            if value:
                renderings[lang] = str(value)
        if not renderings:
            if all(f.isascii() for f in forms):
                renderings["*"] = forms[0]
            else:
                raise ConfigError(f"{where}: give `keep` or a rendering per language (en = …, sq = …)")
        return Term(tuple(f.strip() for f in forms), renderings, n)

    def problems(self, languages: list[str]) -> list[str]:
        """Entries without a rendering for one of the target languages, duplicate forms."""
        out = []
        seen: dict[str, int] = {}
        for term in self.terms:
            for lang in languages:
                if term.render(lang) is None:
                    out.append(f"{self.origin}, entry {term.line} ({term.forms[0]}): no rendering for {lang!r}")
            for form in term.forms:
                key = form.casefold()
                if key in seen:
                    out.append(f"{self.origin}, entry {term.line}: form {form!r} is also in entry {seen[key]}")
                seen[key] = term.line
        return out

    # ------------------------------------------------------------------ masking
    def mask(self, text: str, lang: str) -> Masked:
        """Replace every term (and every VERBATIM piece) with a token; terms without a
        rendering for ``lang`` stay."""
        masked = Masked(text)
        spans: list[tuple[int, int, Term]] = []
        taken = [False] * len(text)
        for match in VERBATIM.finditer(text):
            for i in range(match.start(), match.end()):
                taken[i] = True
            spans.append((match.start(), match.end(), Term((match.group(0),), {"*": match.group(0)})))
        if not spans and not self._patterns:
            return masked
        for pattern, term in self._patterns:
            if term.render(lang) is None:
                continue
            for match in pattern.finditer(text):
                if any(taken[match.start() : match.end()]):
                    continue
                for i in range(match.start(), match.end()):
                    taken[i] = True
                spans.append((match.start(), match.end(), term))
        spans.sort()
        out, last = [], 0
        for start, end, term in spans:
            masked.terms.append(term)
            out.append(text[last:start])
            out.append(TOKEN.format(len(masked.terms)))
            last = end
        out.append(text[last:])
        masked.text = "".join(out)
        return masked

    @staticmethod
    def unmask(text: str, masked: Masked, lang: str) -> tuple[str, list[str]]:
        """Put the renderings back. Returns (text, problems): tokens lost or invented."""
        found: set[int] = set()
        problems: list[str] = []

        def put(match: re.Match[str]) -> str:
            index = int(match.group(1))
            if not 1 <= index <= len(masked.terms):
                problems.append(f"the engine invented a glossary token {match.group(0)!r}")
                return match.group(0)
            found.add(index)
            rendering = masked.terms[index - 1].render(lang) or ""
            before = text[: match.start()].rstrip()
            if (not before or before[-1] in ".!?:") and rendering[:1].islower():
                rendering = rendering[0].upper() + rendering[1:]
            return rendering

        result = _TOKEN_RE.sub(put, text)
        for index, term in enumerate(masked.terms, start=1):
            if index not in found:
                problems.append(f"glossary term {term.forms[0]!r} was lost by the engine")
        return result, problems
