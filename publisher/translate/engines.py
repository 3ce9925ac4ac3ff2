"""Registry of translation engines by the name used in settings; built lazily."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from .base import EngineUnavailable, Translator
from .hosting import endpoint, host_of, needs_online
from .options import TranslationSettings

# name → (module, class); modules import their optional libraries only when built
_ENGINES: dict[str, tuple[str, str]] = {
    "apertium": ("publisher.translate.apertium", "ApertiumTranslator"),
    "google": ("publisher.translate.deep", "GoogleTranslator"),
    "microsoft": ("publisher.translate.deep", "MicrosoftTranslator"),
    "mymemory": ("publisher.translate.deep", "MyMemoryTranslator"),
    "libre": ("publisher.translate.deep", "LibreTranslator"),
    "deepl": ("publisher.translate.deepl_engine", "DeeplTranslator"),
    "openai": ("publisher.translate.openai_engine", "OpenAITranslator"),
}

EngineFactory = Callable[[TranslationSettings], Translator]


def engine_names() -> list[str]:
    return list(_ENGINES)


def build_engine(name: str, settings: TranslationSettings) -> Translator:
    """Construct an engine with its own options; EngineUnavailable says why it cannot run."""
    if name not in _ENGINES:
        raise EngineUnavailable(name, f"unknown engine; known engines: {', '.join(_ENGINES)}")
    if needs_online(name, settings) and not settings.online:  # self-hosted engines run offline
        raise EngineUnavailable(
            name, f"online engines are off here (it calls {host_of(endpoint(name, settings) or '')}); "
            "set [translation] online = true (and its key, if it needs one)",
        )
    module_name, class_name = _ENGINES[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise EngineUnavailable(name, f"its Python library is not installed ({exc}); run `bash .ci/setup run`") from None
    cls = getattr(module, class_name)
    return cls(getattr(settings.engines, name))
