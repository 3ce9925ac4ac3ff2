"""Every settings key is documented in docs/settings.md (as `key` in backticks)."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from pydantic import BaseModel

from publisher.settings import Settings

DOC = Path(__file__).parent.parent / "docs" / "settings.md"


def _models(annotation: typing.Any) -> typing.Iterator[type[BaseModel]]:
    """Every settings model reachable from an annotation (list[...], unions, Annotated[...])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models(field.annotation)
    for arg in typing.get_args(annotation):
        yield from _models(arg)


def settings_keys() -> dict[str, set[str]]:
    """key name → the models that have it (keys excluded from the file, like base_dir, skipped)."""
    keys: dict[str, set[str]] = {}
    for model in _models(Settings):
        for name, field in model.model_fields.items():
            if not field.exclude:
                keys.setdefault(field.alias or name, set()).add(model.__name__)  # as written in the file
    return keys


def test_the_walk_finds_every_section_and_source_type():
    keys = settings_keys()
    for key in ("site", "sources", "timezone", "url", "quarantine_dir", "link_selector", "full_text",
                "settle_seconds", "max_redirects", "detector_languages", "echo"):
        assert key in keys
    assert "base_dir" not in keys and "settings_file" not in keys


def test_every_settings_key_is_documented():
    text = DOC.read_text(encoding="utf-8")
    missing = []
    for key, models in sorted(settings_keys().items()):
        # `key`, or a qualified `section.key`; a table may also be written `[key]` / `[[key]]`
        pattern = rf"`(?:[\w.\[\]-]+\.)?{re.escape(key)}`|`\[\[?{re.escape(key)}\]\]?`"
        if not re.search(pattern, text):
            missing.append(f"{key} ({', '.join(sorted(models))})")
    assert not missing, f"{DOC} does not document: " + "; ".join(missing)
