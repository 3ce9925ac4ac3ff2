"""The project's supplementary mk→en lexicon, for words apertium-mkd-eng does not know.

Data: ``publisher/translate/data/lexicon-mk-en.tsv``, one lemma a line::

    lemma <TAB> POS <TAB> English <TAB> notes

POS is ``n`` (noun; notes may give its gender ``m``/``f``/``nt`` when the ending does not),
``adj``, ``v`` (verb, lemma = 3rd person singular present as in dictionaries; notes
``perf``/``impf`` give its aspect), ``adv``, ``np`` (a name: written as the English has it)
or ``x`` (an invariable word: particle, conjunction, preposition). ``#`` starts a comment.

Each entry is expanded into its Macedonian forms (definite -от/-ов/-он/-та/-то/-те,
plurals -и/-ови/-еви/-а/-ија, adjective -а/-о/-и and -иот/-ата/-ото/-ите, verb present,
aorist, imperfect, l-participle, passive participle, verbal noun), each with the tags that
apertium-mkd-eng's own analyser would give it. Between Apertium's bilingual lookup and its
transfer (rules.Rules.select_senses), an unknown word (``^form/*form$``) whose form is in
the table becomes a normal lexical unit (``^lemma<n><f><pl><nom><def>/complaint<n><pl>…$``),
so transfer and the English generator treat it like a dictionary word: articles, word
order, plural and tense. A word analysed but missing from the bilingual dictionary
(``@lemma``) gets the entry's English the same way. What the table lacks is left to
romanisation (names).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

_VOWELS = set("аеиоу")
_PALATAL = {"к": "ц", "г": "з", "х": "с"}
_POS = {"n", "adj", "v", "adv", "np", "x"}


class LexiconError(ValueError):
    pass


@dataclass(frozen=True)
class Entry:
    lemma: str
    pos: str
    en: str
    notes: str = ""


@dataclass(frozen=True)
class Form:
    entry: Entry
    src_tags: str  # as the mkd-eng analyser writes them, e.g. "<n><f><pl><nom><def>"
    en_tags: str  # as the bilingual dictionary writes them, e.g. "<n><pl><nom><def>"


def _noun_gender(lemma: str, notes: str) -> str:
    for g in ("nt", "f", "m"):
        if re.search(rf"\b{g}\b", notes):
            return g
    if lemma.endswith(("а", "ост", "ест")):
        return "f"
    if lemma.endswith(("о", "е")):
        return "nt"
    return "m"


def noun_forms(lemma: str, gender: str) -> list[tuple[str, str, str]]:
    """(form, number, definiteness) for a noun lemma of that gender."""
    out: list[tuple[str, str, str]] = [(lemma, "sg", "ind")]
    if gender == "f":
        if lemma.endswith("а"):
            stem = lemma[:-2] if lemma.endswith("ја") else lemma[:-1]  # емоција → емоции, идеја → идеи
            out += [(lemma + "та", "sg", "def"), (stem + "и", "pl", "ind"), (stem + "ите", "pl", "def")]
        else:  # -ост, -ест and other consonant-final feminines
            out += [(lemma + "та", "sg", "def"), (lemma + "и", "pl", "ind"), (lemma + "ите", "pl", "def")]
            if lemma.endswith("т"):  # младост → младоста (-тта is written -та)
                out.append((lemma + "а", "sg", "def"))
    elif gender == "nt":
        stem = lemma[:-1]
        out.append((lemma + "то", "sg", "def"))
        if lemma.endswith("ие"):
            out += [(stem + "ја", "pl", "ind"), (stem + "јата", "pl", "def")]
        elif lemma.endswith(("ње", "ле")):
            out += [(stem + "а", "pl", "ind"), (stem + "ата", "pl", "def")]
        elif lemma.endswith("е"):
            out += [(stem + "иња", "pl", "ind"), (stem + "ињата", "pl", "def"),
                    (stem + "а", "pl", "ind"), (stem + "ата", "pl", "def")]
        else:
            out += [(stem + "а", "pl", "ind"), (stem + "ата", "pl", "def")]
    else:  # masculine
        if lemma.endswith(("а", "о", "е", "и", "у")):  # судија, татко: few; plural by -и/-овци
            stem = lemma[:-1]
            out += [(lemma + "та", "sg", "def"), (stem + "и", "pl", "ind"), (stem + "ите", "pl", "def"),
                    (lemma + "то", "sg", "def")]
        else:
            stems = [lemma]
            if lemma.endswith("ин"):  # граѓанин → граѓани
                stems.append(lemma[:-2])
            if lemma[-1] in _PALATAL:  # работник → работници
                stems.append(lemma[:-1] + _PALATAL[lemma[-1]])
            if lemma.endswith("ец") and len(lemma) > 4:  # борец → борци
                stems.append(lemma[:-2] + "ц")
            if re.search(r"[^аеиоу][ое]р$", lemma):  # министер → министри, театар (-ар) → театри
                stems.append(lemma[:-2] + "р")
            if re.search(r"[^аеиоу]ар$", lemma):
                stems.append(lemma[:-2] + "р")
            for art in ("от", "ов", "он"):
                out.append((lemma + art, "sg", "def"))
            if re.search(r"[^аеиоу]а[мр]$", lemma):  # екстремизам → екстремизмот, -зми
                alt = lemma[:-2] + lemma[-1]
                stems.append(alt)
                out.append((alt + "от", "sg", "def"))
            for stem in stems:
                out += [(stem + "и", "pl", "ind"), (stem + "ите", "pl", "def")]
            syllables = sum(1 for c in lemma if c in _VOWELS)
            if syllables <= 1:
                out += [(lemma + "ови", "pl", "ind"), (lemma + "овите", "pl", "def"),
                        (lemma + "еви", "pl", "ind"), (lemma + "евите", "pl", "def")]
    return out


def adjective_forms(lemma: str) -> list[tuple[str, str, str, str]]:
    """(form, gender, number, definiteness); both stems where the -е- of -ен/-ел/-ер may drop."""
    stems = []
    if lemma.endswith("и"):  # македонски
        stems.append(lemma[:-1])
    else:
        stems.append(lemma)
        m = re.search(r"([^аеиоу])[ео]([нлрк])$", lemma)
        if m and len(lemma) > 4:  # изборен → изборна, кус/топол → топла
            stems.append(lemma[:-2] + m.group(2))
        if re.search(r"[аеиоу]ен$", lemma):  # сообраќаен → сообраќајна
            stems.append(lemma[:-2] + "јн")
    out = [(lemma, "m", "sg", "ind")]
    for stem in stems:
        out += [(stem + "иот", "m", "sg", "def"), (stem + "а", "f", "sg", "ind"), (stem + "ата", "f", "sg", "def"),
                (stem + "о", "nt", "sg", "ind"), (stem + "ото", "nt", "sg", "def"),
                (stem + "и", "mfn", "pl", "ind"), (stem + "ите", "mfn", "pl", "def")]
    return out


def verb_forms(lemma: str) -> list[tuple[str, str]]:
    """(form, tags after <vblex><aspect><tv>) for a verb given by its 3sg present."""
    out: list[tuple[str, str]] = []
    last, stem = lemma[-1], lemma[:-1]
    if last not in "аеи":
        return [(lemma, "<pres><p3><sg>")]
    if last == "а":
        p = [lemma + "м", lemma + "ш", lemma, lemma + "ме", lemma + "те", lemma + "ат"]
    else:
        p = [stem + "ам", lemma + "ш", lemma, lemma + "ме", lemma + "те", stem + "ат"]
    for form, person in zip(p, ("<p1><sg>", "<p2><sg>", "<p3><sg>", "<p1><pl>", "<p2><pl>", "<p3><pl>")):
        out.append((form, "<pres>" + person))
    if last == "а":
        aor = [lemma + "в", lemma, lemma + "вме", lemma + "вте", lemma + "а"]
        impf = [lemma + "ше"]
        lp = lemma + "л"
        ppp = lemma + "н"
        noun = lemma + "ње"
        conv = lemma + "јќи"
    elif last == "и":
        aor = [lemma + "в", lemma, lemma + "вме", lemma + "вте", lemma + "ја"]
        impf = [stem + "ев", stem + "еше", stem + "евме", stem + "евте", stem + "еа"]
        lp = lemma + "л"
        ppp = stem + "ен"
        noun = stem + "ење"
        conv = stem + "ејќи"
    else:  # -е: донесе
        aor = [stem + "ов", lemma, stem + "овме", stem + "овте", stem + "оа"]
        impf = [stem + "ев", stem + "еше", stem + "евме", stem + "евте", stem + "еа"]
        lp = stem + "ел"
        ppp = stem + "ен"
        noun = stem + "ење"
        conv = stem + "ејќи"
    for form, person in zip(aor, ("<p1><sg>", "<p3><sg>", "<p1><pl>", "<p2><pl>", "<p3><pl>")):
        out.append((form, "<aor>" + person))
    for form in impf:
        out.append((form, "<pii><p3><sg>"))
    out += [(lp, "<lp><aor><m><sg>"), (lp[:-1] + "ла" if lp.endswith("ел") else lp + "а", "<lp><aor><f><sg>"),
            (lp + "о" if not lp.endswith("ел") else lp[:-1] + "ло", "<lp><aor><nt><sg>"),
            (lp + "е" if not lp.endswith("ел") else lp[:-1] + "ле", "<lp><aor><mfn><pl>")]
    if last == "и":  # imperfective -и verbs: работел, работела
        out += [(stem + "ел", "<lp><pii><m><sg>"), (stem + "ела", "<lp><pii><f><sg>"),
                (stem + "еле", "<lp><pii><mfn><pl>")]
    for suffix, tags in (("", "<m><sg>"), ("а", "<f><sg>"), ("о", "<nt><sg>"), ("и", "<mfn><pl>")):
        out.append((ppp[:-2] + "н" + suffix if suffix and ppp.endswith("ен") else ppp + suffix, "<pp>" + tags))
        if suffix and ppp.endswith("ен"):
            out.append((ppp + suffix, "<pp>" + tags))
    out.append(("*noun*" + noun, ""))
    out.append(("*conv*" + conv, ""))
    return out


_IRREGULAR_PLURAL = {"man": "men", "woman": "women", "child": "children", "person": "people", "foot": "feet",
                     "tooth": "teeth", "mouse": "mice", "knife": "knives", "wife": "wives", "life": "lives",
                     "wolf": "wolves", "leaf": "leaves", "half": "halves", "shelf": "shelves", "thief": "thieves",
                     "analysis": "analyses", "crisis": "crises", "thesis": "theses", "criterion": "criteria",
                     "phenomenon": "phenomena", "sheep": "sheep", "fish": "fish", "series": "series",
                     "species": "species", "aircraft": "aircraft"}
_UNCOUNTABLE = frozenset("""information equipment furniture luggage baggage advice research news data evidence
    knowledge progress cattle police staff clothes glasses trousers scissors jewellery rubbish traffic
    transport funding housing shopping software hardware""".split())


def english_plural(en: str) -> str:
    """The English plural of a noun (the first word of "X of Y", else the last word)."""
    words = en.split(" ")
    i = words.index("of") - 1 if "of" in words[1:] else len(words) - 1
    w = words[i]
    low = w.lower()
    if low in _UNCOUNTABLE or low.endswith(("ing", "ism", "ics", "ness")) or not w.isalpha():
        return en
    if low in _IRREGULAR_PLURAL:
        p = _IRREGULAR_PLURAL[low]
        w = p if w.islower() else p.capitalize()
    elif low.endswith(("s", "x", "z", "ch", "sh")):
        w += "es"
    elif low.endswith("y") and low[-2:-1] not in ("a", "e", "i", "o", "u"):
        w = w[:-1] + "ies"
    else:
        w += "s"
    words[i] = w
    return " ".join(words)


def english_gerund(en: str) -> str:
    words = en.split(" ")
    w = words[0]
    if w.endswith("ie"):
        w = w[:-2] + "ying"
    elif w.endswith("e") and not w.endswith(("ee", "ye", "oe")) and len(w) > 2:
        w = w[:-1] + "ing"
    else:
        w = w + "ing"
    return " ".join([w, *words[1:]])


class Lexicon:
    def __init__(self, entries: list[Entry]):
        self.entries = entries
        self.forms: dict[str, Form] = {}
        self.lemmas: dict[tuple[str, str], Entry] = {}
        for e in entries:  # earlier entries win a shared form
            self._add(e)

    def __len__(self) -> int:
        return len(self.entries)

    def _put(self, form: str, f: Form) -> None:
        self.forms.setdefault(form.lower(), f)

    def _add(self, e: Entry) -> None:
        key = e.lemma.lower()
        self.lemmas.setdefault((key, e.pos), e)
        if e.pos == "n":
            g = _noun_gender(key, e.notes)
            for form, num, d in noun_forms(key, g):
                self._put(form, Form(e, f"<n><{g}><{num}><nom><{d}>", f"<n><{num}><nom><{d}>"))
        elif e.pos == "adj":
            for form, g, num, d in adjective_forms(key):
                self._put(form, Form(e, f"<adj><{g}><{num}><nom><{d}>", f"<adj><sint><{g}><{num}><nom><{d}>"))
        elif e.pos == "v":
            aspect = "perf" if "perf" in e.notes.split() else "imperf"
            for form, tags in verb_forms(key):
                if form.startswith("*noun*"):
                    noun = Entry(form[6:], "n", english_gerund(e.en), "nt")
                    for nf, num, d in noun_forms(noun.lemma, "nt")[:3]:
                        self._put(nf, Form(noun, f"<n><nt><{num}><nom><{d}>", f"<n><{num}><nom><{d}>"))
                elif form.startswith("*conv*"):
                    self._put(form[6:], Form(Entry(form[6:], "x", english_gerund(e.en)), "<adv>", "<adv>"))
                else:
                    self._put(form, Form(e, f"<vblex><{aspect}><tv>{tags}", f"<vblex>{tags}"))
        elif e.pos == "np":
            self._put(key, Form(e, "<np><top><sg><nom>", "<np><top><sg><nom>"))
        else:  # adv, x
            self._put(key, Form(e, "<adv>", "<adv>"))

    def lookup(self, form: str) -> Form | None:
        return self.forms.get(form.lower())

    def unit(self, surface: str) -> str | None:
        """An unknown surface form → a bilingual lexical unit body, or None."""
        f = self.lookup(surface)
        if f is None:
            return None
        en = f.entry.en
        if f.entry.pos == "n" and "<pl>" in f.en_tags:
            en = english_plural(en)  # the generator leaves lemmas it does not know uninflected
        lemma = f.entry.lemma
        if surface[:1].isupper():
            lemma = lemma[:1].upper() + lemma[1:]
            if f.entry.pos != "np":
                en = en[:1].upper() + en[1:]
        return f"{_esc(lemma)}{f.src_tags}/{_esc(en)}{f.en_tags}"

    def translate_lemma(self, lemma: str, src_tags: list[str]) -> str | None:
        """English for an analysed lemma missing from the bilingual dictionary (``@``)."""
        pos = {"n": "n", "adj": "adj", "vblex": "v", "adv": "adv", "np": "np"}.get(src_tags[0] if src_tags else "")
        if pos is None:
            return None
        e = self.lemmas.get((lemma.lower(), pos))
        return e.en if e else None


def _esc(text: str) -> str:
    return re.sub(r"([\\^$@\[\]{}/<>*#])", r"\\\1", text)


def parse_lexicon(text: str, origin: str = "lexicon") -> Lexicon:
    entries = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("\t")]
        if len(parts) < 3 or not parts[0] or not parts[2]:
            raise LexiconError(f"{origin} line {n}: need lemma, POS and English separated by tabs: {raw!r}")
        if parts[1] not in _POS:
            raise LexiconError(f"{origin} line {n}: unknown POS {parts[1]!r} (one of {sorted(_POS)})")
        entries.append(Entry(parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else ""))
    return Lexicon(entries)


@functools.lru_cache(maxsize=4)
def load_lexicon(path: Path | None = None) -> Lexicon:
    """The lexicon in ``path``, or the packaged one (cached: every engine shares it)."""
    if path is None:
        text = resources.files("publisher.translate").joinpath("data/lexicon-mk-en.tsv").read_text("utf-8")
        return parse_lexicon(text, "packaged data/lexicon-mk-en.tsv")
    return parse_lexicon(Path(path).read_text("utf-8"), str(path))
