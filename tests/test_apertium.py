"""The offline engine against the real Apertium (Debian's apertium + apertium-mkd-eng).

Fake modes (tiny .mode files in tmp_path) simulate a pipeline that hangs or a mode that
answers for some texts only, to test timeouts, restarts and that no finished work is lost.
"""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest

from publisher.translate.apertium import ApertiumTranslator, pipeline_commands, split_at_bilingual
from publisher.translate.base import EngineError, EngineUnavailable, Translator
from publisher.translate.options import ApertiumOptions
from publisher.translate.translit import has_cyrillic

SENTENCES = [
    "Членот на ДИК соопшти дека изборите ќе се одржат во април.",
    "Министерството за внатрешни работи соопшти дека полицијата уапси двајца мигранти.",
    "Владата и Собранието ќе разговараат за новиот закон.",
    "Претседателот рече дека Ѓорѓи Ќосе е нов градоначалник.",
]


@pytest.fixture
def engine():
    t = ApertiumTranslator(ApertiumOptions())
    yield t
    t.close()


def _gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def _wait_gone(pgid: int) -> bool:
    end = time.monotonic() + 5
    while time.monotonic() < end:
        if _gone(pgid):
            return True
        time.sleep(0.05)
    return False


def _fake_mode(tmp_path: Path, pipeline: str, name: str = "mkd-eng") -> ApertiumOptions:
    modes = tmp_path / "modes"
    modes.mkdir(exist_ok=True)
    (modes / f"{name}.mode").write_text(pipeline + "\n", encoding="utf-8")
    return ApertiumOptions(modes_dir=modes, timeout_seconds=0.5)


def test_is_a_translator_with_configured_pairs(engine: ApertiumTranslator) -> None:
    assert isinstance(engine, Translator)
    assert engine.name == "apertium"
    assert engine.supports("mk", "en")
    assert not engine.supports("mk", "sq")
    with pytest.raises(EngineError) as err:
        engine.translate_batch(["Здраво"], "mk", "sq")
    assert not err.value.transient


def test_the_mode_becomes_a_null_flushed_pipeline() -> None:
    commands = pipeline_commands(Path("/usr/share/apertium/modes/mkd-eng.mode"))
    assert all(argv[1] == "-z" for argv in commands)
    assert "$1" not in {arg for argv in commands for arg in argv}
    first, second = split_at_bilingual(commands)
    assert first[-1][:3] == ["lt-proc", "-z", "-b"]
    assert second[0][0] == "apertium-transfer"


def test_batch_gives_one_english_output_per_sentence(engine: ApertiumTranslator) -> None:
    out = engine.translate_batch(SENTENCES, "mk", "en")
    assert len(out) == len(SENTENCES)
    for line in out:
        assert line and not has_cyrillic(line), line
    assert "elections" in out[0]
    assert "Ministry of Interior" in out[1]
    assert "Gjorgji Kjose" in out[3]
    assert engine.translate_batch([], "mk", "en") == []


def test_sentences_are_translated_in_isolation(engine: ApertiumTranslator) -> None:
    batch = engine.translate_batch(SENTENCES, "mk", "en")
    alone = [engine.translate_batch([s], "mk", "en")[0] for s in reversed(SENTENCES)][::-1]
    assert alone == batch
    # a headline without a full stop must not pull in the next text
    pair = engine.translate_batch(["Избори", "Членот на ДИК"], "mk", "en")
    assert pair == ["Elections", engine.translate_batch(["Членот на ДИК"], "mk", "en")[0]]


def test_sense_rules_apply(engine: ApertiumTranslator) -> None:
    member, elections, government = engine.translate_batch(
        ["Членот на ДИК", "Изборите ќе бидат во мај.", "Владата соопшти дека членовите на Собранието гласаа."],
        "mk",
        "en",
    )
    assert "member" in member.lower() and "State Election Commission" in member
    assert "limb" not in member.lower() and "DICK" not in member
    assert "elections" in elections.lower() and "choices" not in elections.lower()
    assert government.startswith("The Government announced")
    assert "members of the Assembly" in government


def test_raw_mode_shows_what_the_rules_fix() -> None:
    raw = ApertiumTranslator(ApertiumOptions(transliterate_unknown=False), use_rules=False)
    try:
        out = raw.translate_batch(["Членот на ДИК", "Ќосе"], "mk", "en")
    finally:
        raw.close()
    assert "limb" in out[0].lower() or "DICK" in out[0]  # Apertium's own first choices
    assert out[1] == "Ќосе"  # unknown word: mark stripped, not romanised


def test_lines_and_stream_special_characters_survive(engine: ApertiumTranslator) -> None:
    text = "Изборите\n\n  Владата [x] ^a$ 5/6 <b> @x \\ {y} *z #izbori  \nКрај"
    (out,) = engine.translate_batch([text], "mk", "en")
    lines = out.split("\n")
    assert len(lines) == 4 and lines[1] == ""
    assert lines[0] == "The elections"
    assert lines[2].startswith("  ") and lines[2].endswith("  ")
    for piece in ("[x]", "^", "$", "5/6", "<b>", "@x", "\\", "{y}", "*z", "#izbori"):
        assert piece in lines[2], piece
    assert not has_cyrillic(out)


def test_custom_rules_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        textwrap.dedent(
            """
            [[phrase]]
            mk = "Собранието"
            en = "the Sobranie"
            [[select]]
            mk = "член"
            en = "article"
            """
        ),
        encoding="utf-8",
    )
    t = ApertiumTranslator(ApertiumOptions(rules=rules))
    try:
        (out,) = t.translate_batch(["Членот на Собранието"], "mk", "en")
    finally:
        t.close()
    assert out == "The article of the Sobranie"


def test_killed_pipeline_is_restarted(engine: ApertiumTranslator) -> None:
    first = engine.translate_batch(["Членот на ДИК"], "mk", "en")
    old = engine.process_groups
    assert len(old) == 2
    for pgid in old:
        os.killpg(pgid, signal.SIGKILL)
    assert engine.translate_batch(["Членот на ДИК"], "mk", "en") == first
    assert engine.process_groups and not set(engine.process_groups) & set(old)


def test_hang_raises_transient_error_then_recovers(tmp_path: Path) -> None:
    options = _fake_mode(tmp_path, "sleep 1000")
    t = ApertiumTranslator(options)
    try:
        start = time.monotonic()
        with pytest.raises(EngineError) as err:
            t.translate_batch(["Здраво"], "mk", "en")
        assert err.value.transient
        assert time.monotonic() - start < 10  # two attempts of 0.5 s, generously bounded
        assert t.process_groups == []  # the hung process group was killed, not left behind
        # the mode is fixed (cat echoes each null-terminated block back): the engine works again
        (options.modes_dir / "mkd-eng.mode").write_text("cat\n", encoding="utf-8")
        assert t.translate_batch(["Здраво, ДИК", "Ѓорѓи"], "mk", "en") == [
            "Zdravo, the State Election Commission",
            "Gjorgji",
        ]
    finally:
        t.close()


FAKE_ENGINE = """
import os, sys
log, flag = sys.argv[1], sys.argv[2]
buf = b""
while True:
    chunk = os.read(0, 65536)
    if not chunk:
        break
    buf += chunk
    while b"\\0" in buf:
        block, buf = buf.split(b"\\0", 1)
        with open(log, "ab") as f:
            f.write(block + b"\\n")
        if b"HANG" in block and os.path.exists(flag):
            os.system("sleep 1000")
        os.write(1, block.upper() + b"\\0")
"""


def test_work_done_before_a_failure_is_kept(tmp_path: Path) -> None:
    script, log, flag = tmp_path / "fake.py", tmp_path / "log", tmp_path / "hang"
    script.write_text(FAKE_ENGINE, encoding="utf-8")
    flag.touch()
    options = _fake_mode(tmp_path, f"{sys.executable} {script} {log} {flag}")
    t = ApertiumTranslator(options, use_rules=False)
    try:
        with pytest.raises(EngineError) as err:
            t.translate_batch(["one", "two", "HANG three"], "mk", "en")
        assert err.value.transient
        sent = log.read_text().split()
        assert sent.count("one[]") == 1 and sent.count("two[]") == 1
        assert sent.count("HANG") == 2  # tried, pipeline restarted, tried once more
        flag.unlink()
        assert t.translate_batch(["one", "two", "HANG three"], "mk", "en") == ["ONE", "TWO", "HANG THREE"]
        sent = log.read_text().split()
        assert sent.count("one[]") == 1 and sent.count("two[]") == 1  # not translated twice
    finally:
        t.close()


def test_close_stops_the_pipeline(engine: ApertiumTranslator) -> None:
    engine.translate_batch(["Здраво"], "mk", "en")
    groups = engine.process_groups
    engine.close()
    assert engine.process_groups == []
    assert all(_wait_gone(pgid) for pgid in groups)


def test_missing_mode_is_unavailable_and_names_the_packages(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    t = ApertiumTranslator(ApertiumOptions(modes_dir=tmp_path / "empty"))
    with pytest.raises(EngineUnavailable) as err:
        t.translate_batch(["Здраво"], "mk", "en")
    assert "apt-get install apertium apertium-mkd-eng" in str(err.value)
    assert not err.value.transient
