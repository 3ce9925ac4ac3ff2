"""Staff edits at segment level (issue 11): source and translation aligned text by text (the
title, then each paragraph) and sentence by sentence inside a text, with the segmenter the
translation service uses (segment.py), so a staff rendering is stored in the translation
memory under the key the service looks up (``segment_key`` of the source sentence).

``save_staff_edit`` is what the staff review page and ``publisher translations edit`` call:
it stores the edited text as a human translation (with the quality checks run on it, for the
review page) and every changed sentence as a human memory entry with who made it. A text is
fed to the memory only when it aligns: from the page, the textarea of each source sentence
says which sentence it renders; from a whole text (the CLI, the page's whole-text form), a
paragraph whose edited text has as many sentences as its source (and the same number of
paragraphs overall; the title always pairs with the title). A text that does not align is
saved all the same, only not remembered sentence by sentence (``EditOutcome.unaligned``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..models import StoredRelease, StoredTranslation
from ..store.memory import HUMAN
from .qa import check_translation
from .segment import segment_key, split_sentences


@dataclass
class AlignedText:
    index: int  # 0 the title, then the paragraphs (as spans and the checks count them)
    source: str
    target: str
    source_sentences: list[str]
    target_sentences: list[str]

    @property
    def aligned(self) -> bool:
        return len(self.source_sentences) == len(self.target_sentences) > 0

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return list(zip(self.source_sentences, self.target_sentences)) if self.aligned else []


@dataclass
class EditOutcome:
    stored: StoredTranslation
    added: int = 0  # new human memory entries
    changed: int = 0  # human entries replaced by this edit
    unaligned: list[int] = field(default_factory=list)  # texts saved but not remembered sentence by sentence

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.stored.status.value, "memory_added": self.added, "memory_changed": self.changed,
                "unaligned": self.unaligned}


def sentences(text: str) -> list[str]:
    return split_sentences(text) or ([text.strip()] if text.strip() else [])


def align(sources: Sequence[str], targets: Sequence[str]) -> list[AlignedText]:
    """One entry per source text; a missing target text is empty."""
    return [AlignedText(i, src, targets[i] if i < len(targets) else "", sentences(src),
                        sentences(targets[i]) if i < len(targets) else [])
            for i, src in enumerate(sources)]


def texts_of(title: str, paragraphs: Sequence[str]) -> list[str]:
    return [title, *paragraphs]


def memory_items(sources: Sequence[str], targets: Sequence[str], previous: Sequence[str] | None = None,
                 segments: Mapping[tuple[int, int], str] | None = None) -> tuple[list[tuple[str, str, str]], list[int]]:
    """The (key, source sentence, target sentence) a staff edit teaches the memory, and the
    indexes of the texts it cannot pair sentence by sentence.

    ``segments``: (text, sentence) → the staff rendering of that source sentence (the page's
    textareas); the other texts are aligned by counting sentences. A sentence is remembered
    when it changed: it differs from the previous translation's sentence in that place (or,
    when the previous text did not align, from every sentence of it)."""
    segments = dict(segments or {})
    before = align(sources, previous) if previous is not None and len(previous) == len(sources) else None
    anywhere = {s for text in previous or () for s in sentences(text)}
    same_shape = len(targets) == len(sources)
    items: list[tuple[str, str, str]] = []
    unaligned: list[int] = []
    for text in align(sources, targets if same_shape else targets[:1]):
        given = {j: t for (i, j), t in segments.items() if i == text.index}
        if given:
            pairs = [(text.source_sentences[j], " ".join(t.split())) for j, t in sorted(given.items())
                     if 0 <= j < len(text.source_sentences)]
            places = [j for j in sorted(given) if 0 <= j < len(text.source_sentences)]
        elif text.aligned and (same_shape or text.index == 0):
            pairs, places = text.pairs, list(range(len(text.pairs)))
        else:
            if text.source_sentences:
                unaligned.append(text.index)
            continue
        old = before[text.index] if before is not None else None
        for j, (source, target) in zip(places, pairs):
            if not target:
                continue
            if old is not None and (old.target_sentences[j] == target if old.aligned else target in old.target_sentences):
                continue  # unchanged: the machine's (or an earlier) rendering, not this edit's
            if old is None and target in anywhere:
                continue  # the previous text had another shape: unchanged if it had this sentence anywhere
            items.append((segment_key(source), source, target))
    return list({key: (key, s, t) for key, s, t in items}.values()), unaligned


def save_staff_edit(settings: Any, store: Any, release: StoredRelease, lang: str, title: str,
                    paragraphs: Sequence[str], editor: str | None,
                    segments: Mapping[tuple[int, int], str] | None = None) -> EditOutcome:
    """Store a staff translation and teach the memory its changed sentences (see the module)."""
    previous = store.get_translation(release.id, lang)
    prev_texts = texts_of(previous.title, previous.paragraphs) if previous is not None and previous.title else None
    sources = texts_of(release.title, release.paragraphs)
    targets = texts_of(title, paragraphs)
    options = settings.translation
    checks = check_translation(sources, targets, release.language, lang, min_ratio=options.min_length_ratio,
                               max_ratio=options.max_length_ratio,
                               language_candidates=set(settings.cleaning.detector_languages),
                               max_untranslated_share=options.max_untranslated_share)
    stored = store.save_human_translation(release, lang, title, "\n\n".join(paragraphs), editor,
                                          qa=[c.as_dict() for c in checks])
    items, unaligned = memory_items(sources, targets, prev_texts, segments)
    added, changed = store.memory_put_human(release.language, lang, items, by=editor or HUMAN) if items else (0, 0)
    return EditOutcome(stored, added, changed, unaligned)
