"""Word-sense rules for the Apertium engine, loaded from a TOML file.

The packaged file is ``publisher/translate/rules/mkd-eng.toml``; ``ApertiumOptions.rules``
may point at another. Its format is documented at the top of that file and in
docs/translation.md. Three kinds of rule, applied at three points of the pipeline:

* ``[[phrase]]`` (source side, before Apertium): a Macedonian word form or fixed phrase is
  replaced by its English rendering inside an Apertium *superblank* (``[...]``), which every
  program of the pipeline passes through untouched. For names, acronyms and institutions
  that the dictionaries lack or split into words ("ДИК", "Министерството за внатрешни работи").
* ``[[select]]`` (lexical selection, between the analysis half and the transfer half): when
  the bilingual dictionary offers several English lemmas for a Macedonian lemma, choose one
  ("избор" → election, not choice). Transfer and generation still inflect it (elections, the
  member), so one rule covers every form.
* ``[[fix]]`` (target side, after Apertium): a regular expression on the English output.
  Kept for generic clean-ups; prefer the other two.

``[grammar] perfective_present_as_past``: a Macedonian perfective verb in the present is
only used after a licensing word (да, ќе, ако, ...); standing alone the same form is the
aorist ("соопшти" = announced), which Apertium's tagger often misreads as present.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import grammar as grammar_rules

from .lexicon import english_plural

if TYPE_CHECKING:
    from .lexicon import Lexicon

_LU = re.compile(r"\^((?:\\.|[^\\$])*)\$")
_SPLIT_SLASH = re.compile(r"(?<!\\)/")
_TAG = re.compile(r"<([^>]+)>")
_STREAM_SPECIAL = re.compile(r"([\\^$@\[\]{}/<>*#])")
_PROTECT_CHARS = re.compile(r"[*#@]")


GRAMMAR_SWITCHES = ("negation", "negated_perfect", "past_third_person", "imperfect_as_past", "se_passive")


class RulesError(ValueError):
    pass


@dataclass(frozen=True)
class Phrase:
    pattern: re.Pattern[str]
    en: str
    hint: str = ""  # lowercase text every match contains: a cheap test before the regex


@dataclass(frozen=True)
class Select:
    en: str
    tags: frozenset[str]


@dataclass
class Rules:
    phrases: list[Phrase] = field(default_factory=list)
    select: dict[str, list[Select]] = field(default_factory=dict)
    fixes: list[tuple[re.Pattern[str], Any]] = field(default_factory=list)  # (pattern, text or function)
    perfective_as_past: bool = False
    licensors: frozenset[str] = frozenset()
    clitics: frozenset[str] = frozenset()
    grammar: dict[str, bool] = field(default_factory=dict)  # grammar.apply's switches
    lexicon: Lexicon | None = None  # the supplementary lexicon for unknown words (lexicon.py)

    # -- source side -------------------------------------------------------------------
    def protect(self, text: str) -> str:
        """Plain text → Apertium stream, with phrase renderings inside superblanks."""
        spans: list[tuple[int, int, str]] = []
        low = text.lower()
        for phrase in self.phrases:
            if phrase.hint not in low:
                continue
            for m in phrase.pattern.finditer(text):
                if all(m.end() <= s or m.start() >= e for s, e, _ in spans):
                    spans.append((m.start(), m.end(), phrase.en))
        spans.sort()
        out, pos = [], 0
        for start, end, en in spans:
            out.append(escape(text[pos:start]))
            out.append(superblank(en))
            pos = end
        out.append(escape(text[pos:]))
        return "".join(out)

    # -- between analysis and transfer ---------------------------------------------------
    def select_senses(self, stream: str) -> str:
        if not self.select and not self.perfective_as_past and self.lexicon is None and not self.grammar:
            return stream
        units = list(_LU.finditer(stream))
        out, pos, prev_lemmas = [], 0, []
        for m in units:
            out.append(stream[pos : m.start()])
            body = self._rewrite(m.group(1), prev_lemmas)
            out.append("^" + body + "$")
            pos = m.end()
            prev_lemmas.append(_lemma(m.group(1)).lower())
        out.append(stream[pos:])
        if any(self.grammar.values()):
            return grammar_rules.apply("".join(out), **self.grammar)
        return "".join(out)

    def _rewrite(self, body: str, prev: list[str]) -> str:
        parts = _SPLIT_SLASH.split(body)
        if len(parts) < 2:
            return body
        src, options = parts[0], parts[1:]
        if self.lexicon is not None and options[0][:1] in "*@":
            found = self._from_lexicon(src, options)
            if found is None:
                return body
            src, options = found
        lemma = _lemma(src).lower().lstrip("#")
        src_tags = set(_TAG.findall(src))
        for rule in self.select.get(lemma, ()):
            if rule.tags <= src_tags:
                options = _prefer(options, rule.en)
                break
        if self.perfective_as_past and {"vblex", "perf", "pres"} <= src_tags and not self._licensed(prev):
            src = src.replace("<pres>", "<aor>", 1)
            options = [o.replace("<pres>", "<aor>", 1) for o in options]
        return "/".join([src, *options])

    def _from_lexicon(self, src: str, options: list[str]) -> tuple[str, list[str]] | None:
        assert self.lexicon is not None
        if options[0].startswith("*"):  # the analyser lacks the word: its form is all we have
            unit = self.lexicon.unit(unformat(src.lstrip("*")))
            if unit is None:
                return None
            src, _, target = unit.partition("/")
            return src, [target]
        target = options[0][1:]  # "@lemma<tags>": analysed, but the bilingual dictionary lacks it
        tags = _TAG.findall(target)
        en = self.lexicon.translate_lemma(unformat(_lemma(target)), tags)
        if en is None:
            return None
        if tags and tags[0] == "n":
            tags = [t for t in tags if t not in ("m", "f", "nt")]
            if "pl" in tags:
                en = english_plural(en)
        elif tags and tags[0] == "vblex":
            tags = [t for t in tags if t not in ("perf", "imperf", "tv", "iv")]
        elif tags and tags[0] == "adj":
            tags = ["adj", "sint", *tags[1:]]
        return src, [escape(en) + "".join(f"<{t}>" for t in tags)]

    def _licensed(self, prev: list[str]) -> bool:
        for lemma in reversed(prev[-4:]):
            if lemma in self.licensors:
                return True
            if lemma not in self.clitics:
                return False
        return False

    # -- target side -----------------------------------------------------------------------
    def post_edit(self, text: str) -> str:
        for pattern, repl in self.fixes:
            text = pattern.sub(repl, text)
        return text


def _lowercase(m: re.Match[str]) -> str:
    return m.group(0).lower()


def _lemma(analysis: str) -> str:
    idx = analysis.find("<")
    return analysis if idx < 0 else analysis[:idx]


def _prefer(options: list[str], en: str) -> list[str]:
    want = en.lower()
    for i, opt in enumerate(options):
        if _TAG.sub("", opt).replace("# ", " ").lower() == want:
            return [opt] + options[:i] + options[i + 1 :]
    if " " in en:  # multiword lemmas need the dictionary's own entry (the "# " queue)
        return options
    first = options[0]  # not offered by the dictionary: put the lemma in, keep the tags
    lemma = _lemma(first)
    new = en[:1].upper() + en[1:] if lemma[:1].isupper() else en
    return [escape(new) + first[len(lemma) :]] + options[1:]


def escape(text: str) -> str:
    """Plain text → Apertium stream text. ``*``, ``#`` and ``@`` go into superblanks so that
    in the output these characters, unescaped, can only be Apertium's marks."""
    text = _STREAM_SPECIAL.sub(lambda m: m.group(1) if m.group(1) in "*#@" else "\\" + m.group(1), text)
    return _PROTECT_CHARS.sub(lambda m: "[" + m.group(0) + "]", text)


def superblank(text: str) -> str:
    return "[" + re.sub(r"([\\\[\]])", r"\\\1", text) + "]"


def unformat(stream: str) -> str:
    """Apertium stream → plain text: unescape, open superblanks, drop the marks ``*`` (unknown
    word), ``@`` (untranslated lemma) and ``#`` (generation error)."""
    out: list[str] = []
    i, n, in_blank = 0, len(stream), False
    while i < n:
        c = stream[i]
        if c == "\\" and i + 1 < n:
            out.append(stream[i + 1])
            i += 2
            continue
        if c == "[" and not in_blank:
            in_blank = True
        elif c == "]" and in_blank:
            in_blank = False
        elif in_blank or c not in "*@#":
            out.append(c)
        i += 1
    return "".join(out)


def _phrase_pattern(form: str, exact: bool = False) -> re.Pattern[str]:
    words = form.split()
    if not words:
        raise RulesError("a [[phrase]] has an empty form")
    body = r"\s+".join(re.escape(w) for w in words)
    letters = [c for c in form if c.isalpha()]
    if exact or (len(letters) > 1 and all(c.isupper() for c in letters)):
        return re.compile(rf"(?<!\w){body}(?!\w)")  # acronyms match only in capitals
    first = form[0]
    if first.isalpha():
        body = f"[{first.lower()}{first.upper()}]" + body[len(re.escape(first)) :]
    return re.compile(rf"(?<!\w){body}(?!\w)")


def parse_rules(data: dict, origin: str = "rules") -> Rules:
    rules = Rules()
    try:
        for item in data.get("phrase", []):
            forms = item["mk"] if isinstance(item["mk"], list) else [item["mk"]]
            for form in forms:
                pattern = _phrase_pattern(str(form), bool(item.get("exact", False)))
                rules.phrases.append(Phrase(pattern, str(item["en"]), str(form).split()[0][1:].lower()))
        for item in data.get("select", []):
            lemmas = item["mk"] if isinstance(item["mk"], list) else [item["mk"]]
            en = str(item["en"])
            if not en:
                raise RulesError("[[select]] has an empty en")
            for lemma in lemmas:
                rules.select.setdefault(str(lemma).lower(), []).append(Select(en, frozenset(item.get("tags", []))))
        for item in data.get("fix", []):
            lower = bool(item.get("lower", False))
            repl = _lowercase if lower else str(item["replace"])
            rules.fixes.append((re.compile(item["find"]), repl))
        grammar = data.get("grammar", {})
        rules.perfective_as_past = bool(grammar.get("perfective_present_as_past", False))
        rules.licensors = frozenset(str(w).lower() for w in grammar.get("licensors", []))
        rules.clitics = frozenset(str(w).lower() for w in grammar.get("clitics", []))
        rules.grammar = {key: bool(grammar.get(key, False)) for key in GRAMMAR_SWITCHES}
    except (KeyError, TypeError, re.error) as exc:
        raise RulesError(f"{origin}: bad rule ({exc!r})") from None
    # longest forms first, so "Министерството за внатрешни работи" wins over "Министерството"
    rules.phrases.sort(key=lambda p: len(p.pattern.pattern), reverse=True)
    return rules


def load_rules(path: Path | None = None) -> Rules:
    """The rules in ``path``, or the packaged mkd-eng rules when ``path`` is None."""
    if path is None:
        text = resources.files("publisher.translate").joinpath("rules/mkd-eng.toml").read_text("utf-8")
        origin = "packaged rules/mkd-eng.toml"
    else:
        text = Path(path).read_text("utf-8")
        origin = str(path)
    try:
        return parse_rules(tomllib.loads(text), origin)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{origin}: {exc}") from None
