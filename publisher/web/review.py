"""The staff review page's content (issue 11): source and translation aligned text by text
(the title, then each paragraph) and sentence by sentence (publisher.translate.human, the
service's own segmenter), the spans the quality checks flagged and the romanised words
highlighted, every check as a sentence in the staff member's language, the sentences that
came from the staff memory marked with who wrote them and when, and the segment edit that
saves the translation and teaches the memory its changed sentences.

Synchronous: the staff routes run these in a worker thread."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..models import StoredRelease, StoredTranslation
from ..store.translations import HELD_PREFIX
from ..translate.human import AlignedText, align, save_staff_edit, texts_of
from ..translate.qa_meaning import romanised_words
from . import actions

if TYPE_CHECKING:
    from ..app import App

Gettext = Callable[..., str]
STAFF_MEMORY = "staff-memory"  # the service's record of sentences from the staff memory (service.py)
ROMANISED = "romanised"
UI_LANGUAGES = ("en", "mk", "sq")  # the catalogs that hold the review page's sentences

# check name → (what it means when it passed, when it failed); msgids of publisher/locale
CHECK_SENTENCES: dict[str, tuple[str, str]] = {
    "not-empty": ("Every text has a translation.", "A text has no translation."),
    "no-cyrillic": ("No Cyrillic letters are left in the translation.",
                    "Cyrillic letters are left in the translation."),
    "language": ("The translation reads as the target language.",
                 "The translation may not be in the target language."),
    "numbers": ("Every number of the original is in the translation.",
                "A number of the original is missing from the translation."),
    "urls-emails": ("Links and e-mail addresses are kept as they are.",
                    "A link or an e-mail address was not kept as it is."),
    "quoted-names": ("Names in quotation marks are kept.", "A name in quotation marks was not kept."),
    "length-ratio": ("The translation is about as long as the original.",
                     "The translation is much shorter or longer than the original."),
    "negation": ("Every negation of the original is kept.",
                 "A sentence of the original is negative, but its translation is not."),
    "number-format": ("Numbers, dates and amounts are written the way the target language writes them.",
                      "A number, date, percentage or amount is not written the way the target language writes it."),
    "names": ("Names in Latin letters are kept as they are.", "A name in Latin letters was not kept as it is."),
    "untranslated": ("Few words are left untranslated.", "Too many words were romanised instead of translated."),
    "glossary": ("Glossary terms are rendered as the glossary says.", "A glossary term was lost or changed."),
    "markup": ("Links and emphasis are kept.", "Some links or emphasis were lost."),
}
UNKNOWN_CHECK = ("The check “%(name)s” passed.", "The check “%(name)s” failed.")
ROMANISED_SENTENCE = "Romanised: the engine did not know this word."


def check_sentence(gettext: Gettext, name: str, ok: bool) -> str:
    passed, failed = CHECK_SENTENCES.get(name, UNKNOWN_CHECK)
    message = passed if ok else failed
    return gettext(message, name=name) if name not in CHECK_SENTENCES else gettext(message)


def ui_language(accept_language: str | None) -> str:
    """The staff member's language for the review page: Accept-Language among the catalogs, else English."""
    from .pages import parse_accept_language

    return parse_accept_language(accept_language, list(UI_LANGUAGES)) or "en"


# --------------------------------------------------------------------------- reading
def review_data(app: App, release_id: int | str, lang: str, gettext: Gettext) -> dict[str, Any]:
    data = actions.review(app, release_id, lang)  # validates the release and the language (404s)
    release = app.store.get_release(data["release"]["id"])
    translation = app.store.get_translation(release.id, lang)
    data.update(build_view(release, translation, gettext))
    return data


def build_view(release: StoredRelease, translation: StoredTranslation | None, gettext: Gettext) -> dict[str, Any]:
    """The aligned texts with their highlighted pieces, the checks as sentences, the staff-memory marks."""
    sources = texts_of(release.title, release.paragraphs)
    targets = texts_of(translation.title, translation.paragraphs) if translation is not None and translation.title \
        else []
    texts = align(sources, targets)
    qa = [dict(c) for c in (translation.qa if translation is not None else ()) if isinstance(c, Mapping)]
    checks = [c for c in qa if c.get("name") != STAFF_MEMORY]
    titles = {c.get("name", ""): check_sentence(gettext, str(c.get("name", "")), False) for c in checks}
    titles[ROMANISED] = gettext(ROMANISED_SENTENCE)
    marks: dict[tuple[str, int], list[tuple[int, int, str]]] = {}
    for check in checks:
        if check.get("ok", True):
            continue
        for span in check.get("spans") or ():
            _mark(marks, sources if span.get("side") == "source" else targets, span, str(check.get("name")))
    for span in romanised_words(_sentence_pairs(texts), release.language)[0]:
        _mark(marks, targets, span, ROMANISED)
    staff = _staff_marks(qa, texts)
    rows = [_text_rows(t, marks, titles, staff) for t in texts]
    shown = sorted(checks, key=lambda c: (bool(c.get("ok", True)), str(c.get("name"))))
    memory_note = next((c for c in qa if c.get("name") == STAFF_MEMORY), None)
    return {
        "texts": rows,
        "checks": [{"name": c.get("name"), "ok": bool(c.get("ok", True)), "blocking": bool(c.get("blocking", True)),
                    "sentence": check_sentence(gettext, str(c.get("name", "")), bool(c.get("ok", True))),
                    "detail": str(c.get("detail") or "")} for c in shown],
        "failed": sum(1 for c in checks if not c.get("ok", True)),
        "held": bool(translation is not None and translation.error and translation.error.startswith(HELD_PREFIX)),
        "staff_memory": {"count": len(staff), "detail": str(memory_note.get("detail") or "")} if memory_note else None,
    }


def _sentence_pairs(texts: list[AlignedText]) -> list[tuple[int, int, str, int, str]]:
    """(text, source offset, source, target offset, target) per aligned sentence (a text that
    does not align is one pair), for the romanised-word finder of qa_meaning."""
    pairs = []
    for t in texts:
        if not t.target:
            continue
        if t.aligned:
            for (s, o), (u, p) in zip(_offsets(t.source, t.source_sentences), _offsets(t.target, t.target_sentences)):
                pairs.append((t.index, s, o, u, p))
        else:
            pairs.append((t.index, 0, t.source, 0, t.target))
    return pairs


def _offsets(text: str, sentences: list[str]) -> list[tuple[int, str]]:
    found, pos = [], 0
    for sentence in sentences:
        at = text.find(sentence, pos)
        at = at if at >= 0 else pos
        found.append((at, sentence))
        pos = at + len(sentence)
    return found


def _mark(marks: dict[tuple[str, int], list[tuple[int, int, str]]], texts: list[str], span: Mapping[str, Any],
          kind: str) -> None:
    """A span placed in its text: at its offsets when the words are still there (the text may
    have been edited since the check ran), else at the first place the words occur."""
    side = "source" if span.get("side") == "source" else "target"
    index, words = span.get("text"), [str(w) for w in span.get("words") or () if str(w)]
    candidates = [index] if isinstance(index, int) else range(len(texts))
    for i in candidates:
        if not 0 <= i < len(texts):
            continue
        text = texts[i]
        start, end = span.get("start"), span.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text) and (
                not words or text[start:end] == words[0]):
            marks.setdefault((side, i), []).append((start, end, kind))
            return
        if words:
            m = re.search(rf"(?<!\w){re.escape(words[0])}(?!\w)", text)
            if m:
                marks.setdefault((side, i), []).append((m.start(), m.end(), kind))
                return


def _staff_marks(qa: list[dict[str, Any]], texts: list[AlignedText]) -> dict[tuple[int, int], dict[str, str]]:
    """(text, sentence) → who wrote the sentence in the staff memory and when, for the target
    sentences that are still that rendering."""
    found: dict[tuple[int, int], dict[str, str]] = {}
    for check in qa:
        if check.get("name") != STAFF_MEMORY:
            continue
        for span in check.get("spans") or ():
            i, j, words = span.get("text"), span.get("sentence"), span.get("words") or [""]
            if not (isinstance(i, int) and isinstance(j, int) and 0 <= i < len(texts)):
                continue
            target = texts[i].target_sentences
            if j < len(target) and target[j] == str(words[0]):
                found[(i, j)] = {"by": str(span.get("by") or ""), "at": _day(str(span.get("at") or ""))}
    return found


def _day(value: str) -> str:
    try:
        return dt.datetime.fromisoformat(value).date().isoformat()
    except ValueError:
        return value


def _pieces(text: str, start: int, length: int, marks: list[tuple[int, int, str]],
            titles: Mapping[str, str]) -> list[dict[str, Any]]:
    """The sentence at ``text[start:start+length]`` as runs of characters with the same marks."""
    labels = [frozenset({k for a, b, k in marks if a <= pos < b}) for pos in range(start, start + length)]
    runs: list[dict[str, Any]] = []
    for offset, label in enumerate(labels):
        char = text[start + offset]
        if runs and runs[-1]["kinds"] == label:
            runs[-1]["text"] += char
        else:
            runs.append({"text": char, "kinds": label})
    return [{"text": r["text"], "kinds": sorted(r["kinds"]), "title": " ".join(titles.get(k, k) for k in sorted(r["kinds"]))}
            for r in runs]


def _text_rows(text: AlignedText, marks: dict[tuple[str, int], list[tuple[int, int, str]]],
               titles: Mapping[str, str], staff: Mapping[tuple[int, int], dict[str, str]]) -> dict[str, Any]:
    src_marks, tgt_marks = marks.get(("source", text.index), []), marks.get(("target", text.index), [])
    sources = [_pieces(text.source, at, len(s), src_marks, titles) for at, s in _offsets(text.source, text.source_sentences)]
    targets = [_pieces(text.target, at, len(s), tgt_marks, titles) for at, s in _offsets(text.target, text.target_sentences)]
    aligned = text.aligned or not text.target_sentences  # no translation yet: one empty field per sentence
    rows = []
    if aligned:
        for j, source in enumerate(sources):
            rows.append({"sentence": j, "source": source, "target": targets[j] if text.aligned else [],
                         "value": text.target_sentences[j] if text.aligned else "", "staff": staff.get((text.index, j))})
    return {"index": text.index, "aligned": aligned, "rows": rows, "sources": sources, "targets": targets,
            "value": text.target}


# --------------------------------------------------------------------------- writing
_FIELD = re.compile(r"^seg-(\d+)-(\d+)$")


def _one_line(value: Any) -> str:
    return " ".join(str(value or "").split())


def save_segments(app: App, release_id: int | str, lang: str, form: Mapping[str, Any], editor: str) -> dict[str, Any]:
    """The page's segment form: ``seg-{text}-{sentence}`` (one source sentence's rendering) and
    ``text-{text}`` (a whole text that does not align). Texts not in the form stay as they are."""
    actions.review(app, release_id, lang)  # validates
    release = app.store.get_release(release_id)
    current = app.store.get_translation(release.id, lang)
    sources = texts_of(release.title, release.paragraphs)
    targets = texts_of(current.title, current.paragraphs) if current is not None and current.title else []
    texts = align(sources, targets)
    segments: dict[tuple[int, int], str] = {}
    for name, value in form.items():
        m = _FIELD.match(str(name))
        if m and int(m.group(1)) < len(texts) and int(m.group(2)) < len(texts[int(m.group(1))].source_sentences):
            segments[(int(m.group(1)), int(m.group(2)))] = _one_line(value)
    new: list[str] = []
    for t in texts:
        if any(i == t.index for i, _ in segments):
            old = t.target_sentences if t.aligned else []
            parts = [segments.get((t.index, j), old[j] if j < len(old) else "") for j in range(len(t.source_sentences))]
            new.append(" ".join(p for p in parts if p))
        elif f"text-{t.index}" in form:
            new.append(_one_line(form.get(f"text-{t.index}")))
        else:
            new.append(_one_line(t.target))
    empty = [t.index for t, value in zip(texts, new) if not value]
    if empty:
        where = ", ".join("the title" if i == 0 else f"paragraph {i}" for i in empty)
        raise actions.ActionError(f"{where} has no translation; every text of the original needs one")
    outcome = save_staff_edit(app.settings, app.store, release, lang, new[0], new[1:], editor, segments)
    return {**actions.translation_json(outcome.stored), **outcome.as_dict()}  # type: ignore[dict-item]


def save_whole(app: App, release_id: int | str, lang: str, title: str, body: str, editor: str) -> dict[str, Any]:
    """The page's whole-text form (title, paragraphs separated by a blank line): saved as the
    human translation; the paragraphs that align with the original feed the memory."""
    actions.review(app, release_id, lang)
    release = app.store.get_release(release_id)
    title = _one_line(title)
    paragraphs = [_one_line(p) for p in re.split(r"\n\s*\n", body.replace("\r\n", "\n")) if p.strip()]
    if not title or not paragraphs:
        raise actions.ActionError("a translation needs a title and a text")
    outcome = save_staff_edit(app.settings, app.store, release, lang, title, paragraphs, editor)
    return {**actions.translation_json(outcome.stored), **outcome.as_dict()}  # type: ignore[dict-item]
