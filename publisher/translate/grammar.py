"""Grammar rules for press-release Macedonian, on the stream between Apertium's bilingual
lookup and its transfer (called from rules.Rules.select_senses; switched on in the rules
file's ``[grammar]`` table). Each works on the lexical units of one line:

* ``negation``: "не" before a verb is read by Apertium's tagger as the clitic "нѐ" (us),
  so "не ги добија" came out "won" (the opposite). The clitic reading (p1 pl acc) becomes
  the negation ``не<adv>``, which transfer renders "did not receive". Negative concord:
  an n-word (никој, ништо, никогаш, никаде, ниту…) BEFORE "не" makes the "не" redundant
  in English ("Никој не дојде" = "No one came"); an n-word AFTER it becomes its "any" form
  ("не рече ништо" = "did not say anything"). "ниту X ниту Y" = "neither X nor Y".
  A clause opening with "нема/немаше" + a noun phrase is existential ("Нема потреба" =
  "There is no need").
* ``negated_perfect``: "нема/немаше + participle" is the negated perfect ("нема добиено" =
  "has not received"); Apertium drops the negation. The auxiliary becomes "has"/"had" and a
  "not" follows it.
* ``past_third_person``: in the aorist and the imperfect the 2nd and 3rd person singular are
  one form; press releases do not address "you", so a 2nd person reading becomes 3rd
  ("ИОМ организираше" = "IOM organised", not "were organising"; "Средбата беше" = "The
  meeting was").
* ``se_passive``: "се" + an imperfective transitive verb in the 3rd person present is the
  passive ("Законот се применува" = "The law is applied", "се градат" = "are built"), not the
  active Apertium gives ("is implementing"); after "ќе" it is "will be built". Verbs that are
  reflexive in their own right (се враќа = returns, се обидува = tries…) are left alone.
* ``imperfect_as_past``: the imperfect of a verb in a news report is rendered as the simple
  past ("организираше" = "organised"), not the progressive.
"""

from __future__ import annotations

import re

_LU = re.compile(r"\^((?:\\.|[^\\$])*)\$")
_TAG = re.compile(r"<([^>]+)>")
_SLASH = re.compile(r"(?<!\\)/")

NEGATION_UNIT = "не<adv>/not<adv>"
# n-word lemma → its English after a negated verb ("any" forms)
_ANY = {"ништо": "anything", "никој": "anyone", "никогаш": "ever", "никаде": "anywhere", "ниеден": "any"}
_NWORDS = frozenset(["ништо", "никој", "никогаш", "никаде", "никаков", "ниеден", "ниту"])
_VERBS = ("vblex", "vbser", "vbhaver", "vbmod", "vaux")
# imperfective verbs whose "се" forms are not passives (reflexive or reciprocal in their own right)
_REFLEXIVE = frozenset("""враќа бори смее чувствува надева согласува сретнува среќава движи обидува залага
    однесува случува појавува зголемува намалува подобрува влошува состои одвива наоѓа работи зборува
    шири шета стреми сели бави занимава грижи плаши радува сомнева договара советува консултира дружи
    облекува мие буди раѓа вклучува приклучува обраќа сеќава спротивставува соочува навраќа интересира
    тркала менува развива троши чини вика""".split())


class _Unit:
    __slots__ = ("body", "src", "lemma", "tags", "options")

    def __init__(self, body: str):
        self.set(body)

    def set(self, body: str) -> None:
        self.body = body
        parts = _SLASH.split(body)
        self.src = parts[0]
        i = self.src.find("<")
        self.lemma = (self.src if i < 0 else self.src[:i]).lower().lstrip("*")
        self.tags = _TAG.findall(self.src)
        self.options = parts[1:]

    @property
    def pos(self) -> str:
        return self.tags[0] if self.tags else ""


def _bound(u: _Unit) -> bool:
    """A clause boundary: punctuation, a conjunction, a relative."""
    return u.pos in ("sent", "cm", "lpar", "rpar", "guio", "cnjcoo", "cnjsub", "rel") and u.lemma != "ниту"


def apply(stream: str, *, negation: bool, negated_perfect: bool, past_third_person: bool,
          imperfect_as_past: bool, se_passive: bool = False) -> str:
    matches = list(_LU.finditer(stream))
    if not matches:
        return stream
    blanks = [stream[: matches[0].start()]]
    units = []
    for k, m in enumerate(matches):
        units.append(_Unit(m.group(1)))
        end = matches[k + 1].start() if k + 1 < len(matches) else len(stream)
        blanks.append(stream[m.end() : end])
    after: dict[int, str] = {}  # text (superblank) to put right after unit i
    dropped: set[int] = set()

    if past_third_person or imperfect_as_past:
        for u in units:
            if u.pos not in ("vblex", "vbser", "vbhaver") or "lp" in u.tags:
                continue
            body = u.body
            if u.pos != "vblex":  # беше = was (not "were"), имаше = had
                if past_third_person and "pii" in u.tags and "p2" in u.tags and "sg" in u.tags:
                    u.set(body.replace("<p2>", "<p3>"))
                continue
            if past_third_person and ("aor" in u.tags or "pii" in u.tags) and "<p2><sg>" in body:
                body = body.replace("<p2><sg>", "<p3><sg>")
            if imperfect_as_past and "pii" in u.tags:  # transfer makes imperfective past progressive
                body = body.replace("<pii>", "<aor>").replace("<imperf>", "<perf>", 1)
            if body != u.body:
                u.set(body)

    if negation:
        for u in units:
            if u.lemma == "clitic" and {"p1", "pl", "acc"} <= set(u.tags):
                u.set(NEGATION_UNIT)
        _concord(units, dropped)

    if se_passive:
        _passives(units, after, dropped)

    if negation:
        _existential(units, after, dropped)

    if negated_perfect:
        for i, u in enumerate(units):
            if u.pos == "vbhaver" and u.options and "<neg>" in u.options[0]:
                for v in units[i + 1 : i + 4]:
                    if v.pos == "vblex" and "pp" in v.tags:
                        u.set("/".join([u.src, *(o.replace("<neg>", "", 1) for o in u.options)]))
                        after[i] = "[ not]"
                        break
                    if v.pos not in ("adv", "prn"):
                        break

    out = [blanks[0]]
    for i, u in enumerate(units):
        if i not in dropped:
            out.append("^" + u.body + "$")
        out.append(after.get(i, ""))
        out.append(blanks[i + 1])
    return "".join(out)


def _existential(units: list[_Unit], after: dict[int, str], dropped: set[int]) -> None:
    """A clause that starts with "нема/немаше" + a noun phrase is existential: "Нема потреба"
    = "There is no need" (Apertium: "does not Have need")."""
    for i, u in enumerate(units[:-1]):
        if u.pos != "vbhaver" or not u.options or "<neg>" not in u.options[0] or "p3" not in u.tags:
            continue
        if i > 0 and not _bound(units[i - 1]):
            continue
        nxt = units[i + 1]
        if nxt.pos not in ("n", "adj", "adv", "num", "prn") or nxt.lemma in ("да", "clitic"):
            continue
        if nxt.pos == "prn" and "neg" not in nxt.tags:  # "нема никаков" yes, "нема тој" no
            continue
        past = "pii" in u.tags or "past" in u.tags
        words = "there was no" if past else "there is no"
        if u.src[:1].isupper():
            words = words.capitalize()
        dropped.add(i)
        after[i] = f"[{words}]"
        if nxt.pos == "prn":  # "нема никакви" = there are no
            dropped.add(i + 1)


def _passives(units: list[_Unit], after: dict[int, str], dropped: set[int]) -> None:
    for i, u in enumerate(units[:-1]):
        v = units[i + 1]
        if not (u.lemma == "clitic" and "ref" in u.tags and v.pos == "vblex"
                and {"imperf", "tv", "pres", "p3"} <= set(v.tags) and v.lemma not in _REFLEXIVE):
            continue
        prev = units[i - 1] if i else None
        if prev is not None and prev.lemma == "да":
            continue
        plural = "pl" in v.tags
        if prev is not None and prev.lemma == "ќе":
            aux = "be"
        else:
            aux = "are" if plural else "is"
            if prev is not None and prev.lemma == "не" and prev.pos == "adv":
                dropped.add(i - 1)
                aux += " not"
        number = "<mfn><pl>" if plural else "<m><sg>"
        v.set("/".join([_pp(v.src, number), *(_pp(o, number) for o in v.options[:1])]))
        dropped.add(i)
        after[i] = f"[ {aux}]"


def _pp(analysis: str, number: str) -> str:
    return re.sub(r"<pres><p3><(?:sg|pl)>", "<pp>" + number, analysis)


def _concord(units: list[_Unit], dropped: set[int]) -> None:
    nitu = [i for i, u in enumerate(units) if u.lemma == "ниту" and u.pos == "cnjcoo"]
    if len(nitu) >= 2:
        for n, i in enumerate(nitu):
            word = "neither" if n == 0 else "nor"
            if units[i].src[:1].isupper():
                word = word.capitalize()
            units[i].set(f"{units[i].src}/{word}<cnjcoo>")
    for i, u in enumerate(units):
        if not (u.lemma == "не" and u.pos == "adv"):
            continue
        before = False
        for v in reversed(units[max(0, i - 6) : i]):
            if _bound(v):
                break
            if v.lemma in _NWORDS:
                before = True
                break
        if before:
            dropped.add(i)
            continue
        for v in units[i + 1 : i + 7]:
            if _bound(v):
                break
            if v.lemma in _ANY and v.options:
                en = _ANY[v.lemma]
                first = v.options[0]
                j = first.find("<")
                v.set("/".join([v.src, en + (first[j:] if j >= 0 else "")]))
