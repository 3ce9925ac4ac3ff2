"""The offline engine: Apertium, kept running as a null-flushed pipeline.

Starting Apertium costs ~0.1-0.2 s per call (ten programs load their transducers), so the
mode's pipeline is started once and fed one block per text line. Each program runs with its
null-flush option (``-z``): a block ends with ``"\\0"``, every program flushes when it
sees it, and the pipeline answers with one block ending in ``"\\0"``.

Why a naive ``-z`` pipeline hangs (Debian apertium 3.8.3 / lttoolbox 3.7.1):

* ``lt-proc -b`` (and ``apertium-transfer``) hold back the last lexical unit of a block until
  they see the character after its closing ``$``. When a block ends ``...$\\0`` nothing
  comes out until the *next* block arrives: the first call hangs, later calls get the
  previous sentence. Every block we send therefore ends with an empty superblank ``[]``.
* Raw text is not Apertium's stream format: ``[`` opens a superblank that swallows the
  ``\\0`` and ``^ $ / < > @ { } \\`` confuse the analysers. We escape the text ourselves;
  ``apertium-destxt``/``apertium-retxt`` cannot be used here (no ``-z``: destxt drops
  the ``\\0``, and ``apertium -z`` waits for end of input because of them).
* ``$1`` in the mode file is the generator's option; ``apertium`` substitutes it, we do too.

The pipeline is split after the bilingual lookup (``lt-proc -b``) into two process groups,
so that lexical-selection rules can choose among the English lemmas in between (see
rules.py). Reads and writes are non-blocking with a deadline: a block that does not come
back in ``timeout_seconds`` kills both process groups, restarts them and retries once.
"""

from __future__ import annotations

import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from .base import EngineError, EngineUnavailable, TranslatorBase
from .options import ApertiumOptions
from .rules import Rules, escape, load_rules, unformat
from .lexicon import load_lexicon
from .translit import transliterate_mk

INSTALL_HINT = "install Debian's packages: apt-get install apertium apertium-mkd-eng"
_NULL_FLUSH_PROGRAMS = re.compile(r"^(lt-proc|cg-proc|lrx-proc|hfst-proc|apertium-[a-z0-9-]+)$")
_FIRST_LETTER = re.compile(r"[^\W\d_]")


class _Stuck(Exception):
    """The pipeline died or did not answer in time; ``answers`` holds what came back before."""

    def __init__(self, message: str, answers: list[str] | None = None):
        super().__init__(message)
        self.answers = list(answers or [])


def pipeline_commands(mode_file: Path, generator_option: str = "-g") -> list[list[str]]:
    """The mode's programs as argv lists, each with its null-flush option."""
    text = mode_file.read_text("utf-8").strip()
    commands = []
    for part in text.split("|"):
        argv = shlex.split(part.replace("$1", generator_option).replace("$2", ""))
        if not argv:
            continue
        if _NULL_FLUSH_PROGRAMS.match(os.path.basename(argv[0])) and "-z" not in argv:
            argv.insert(1, "-z")
        commands.append(argv)
    return commands


def split_at_bilingual(commands: list[list[str]]) -> tuple[list[list[str]], list[list[str]]]:
    """(analysis half ending with ``lt-proc -b``, transfer half); no split if there is none."""
    for i, argv in enumerate(commands):
        if os.path.basename(argv[0]) == "lt-proc" and "-b" in argv and i + 1 < len(commands):
            return commands[: i + 1], commands[i + 1 :]
    return commands, []


class _Pipe:
    """One process group running ``a | b | c``; ``ask`` sends a block, returns the answer."""

    def __init__(self, commands: list[list[str]]):
        self.command = " | ".join(shlex.join(argv) for argv in commands)
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in kill()
        self.proc = subprocess.Popen(
            ["/bin/sh", "-c", self.command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            start_new_session=True,  # its own process group: killpg stops every program
        )
        os.set_blocking(self.proc.stdin.fileno(), False)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.pgid = self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ask(self, block: str, deadline: float) -> str:
        """One block, one answer (more than one answer back means out of step)."""
        try:
            return self.ask_many([block], deadline - time.monotonic())[0]
        except _Stuck as exc:
            raise _Stuck(str(exc)) from None  # a partial answer of one block is no answer

    def ask_many(self, blocks: Sequence[str], timeout: float) -> list[str]:
        """Pipelined: keep writing blocks while answers come back, so every program in the
        pipeline works at once; each block is still null-flushed on its own (no context
        crosses blocks). ``timeout`` bounds the wait for each next answer."""
        pending = b"".join(b.replace("\0", " ").encode("utf-8") + b"\0" for b in blocks)
        answers: list[str] = []
        buf = bytearray()
        out_fd, in_fd = self.proc.stdout.fileno(), self.proc.stdin.fileno()
        deadline = time.monotonic() + timeout
        while len(answers) < len(blocks):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Stuck(f"no answer in time ({len(answers)} of {len(blocks)} back)", answers)
            readable, writable, _ = select.select([out_fd], [in_fd] if pending else [], [], remaining)
            if writable:
                try:
                    pending = pending[os.write(in_fd, pending[:65536]) :]
                except BrokenPipeError:
                    raise _Stuck("the pipeline exited", answers) from None
                except BlockingIOError:
                    pass
            if readable:
                try:
                    chunk = os.read(out_fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    raise _Stuck(f"the pipeline exited: {self.last_error()}", answers)
                buf += chunk
                while (end := buf.find(b"\0")) >= 0:
                    answers.append(buf[:end].decode("utf-8", "replace"))
                    del buf[: end + 1]
                    deadline = time.monotonic() + timeout
        if buf or len(answers) != len(blocks):
            raise _Stuck("the pipeline answered out of step")  # nothing from it can be trusted
        return answers

    def last_error(self) -> str:
        try:
            self.stderr.seek(0)
            return self.stderr.read()[-300:].decode("utf-8", "replace").strip() or "no message"
        except (OSError, ValueError):
            return "no message"

    def kill(self) -> None:
        try:
            os.killpg(self.pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        for f in (self.proc.stdin, self.proc.stdout, self.stderr):
            try:
                f.close()
            except OSError:
                pass


def stream_through(pipe_a: _Pipe, pipe_b: _Pipe, blocks: Sequence[str], middle, timeout: float) -> list[str]:
    """Both halves at once: each answer of ``pipe_a`` goes through ``middle`` (Python) into
    ``pipe_b`` as soon as it arrives, so the two process groups work in parallel. Returns the
    answers of ``pipe_b`` in order; _Stuck carries the ones that came back before a failure."""
    pending_a = b"".join(b.replace("\0", " ").encode("utf-8") + b"\0" for b in blocks)
    pending_b = bytearray()
    buf_a, buf_b = bytearray(), bytearray()
    outs: list[str] = []
    a_in, a_out = pipe_a.proc.stdin.fileno(), pipe_a.proc.stdout.fileno()
    b_in, b_out = pipe_b.proc.stdin.fileno(), pipe_b.proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    while len(outs) < len(blocks):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Stuck(f"no answer in time ({len(outs)} of {len(blocks)} back)", outs)
        writers = ([a_in] if pending_a else []) + ([b_in] if pending_b else [])
        readable, writable, _ = select.select([a_out, b_out], writers, [], remaining)
        try:
            if a_in in writable:
                pending_a = pending_a[os.write(a_in, pending_a[:65536]) :]
            if b_in in writable:
                del pending_b[: os.write(b_in, pending_b[:65536])]
        except BrokenPipeError:
            raise _Stuck("the pipeline exited", outs) from None
        except BlockingIOError:
            pass
        for fd, buf, pipe in ((a_out, buf_a, pipe_a), (b_out, buf_b, pipe_b)):
            if fd not in readable:
                continue
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                raise _Stuck(f"the pipeline exited: {pipe.last_error()}", outs)
            buf += chunk
            while (end := buf.find(b"\0")) >= 0:
                answer = buf[:end].decode("utf-8", "replace")
                del buf[: end + 1]
                deadline = time.monotonic() + timeout
                if pipe is pipe_a:
                    step = middle(answer)
                    pending_b += (step if step.endswith("]") else step + "[]").encode("utf-8") + b"\0"
                else:
                    outs.append(answer)
    if buf_a or buf_b:
        raise _Stuck("the pipeline answered out of step")
    return outs


class ApertiumTranslator(TranslatorBase):
    """Apertium through a persistent null-flushed pipeline, with sense rules and romanisation.

    Each text is translated line by line (one block per non-blank line, so nothing leaks
    between sentences or lines); the output has exactly the input's lines, blank lines and
    each line's leading/trailing whitespace kept. ``use_rules=False`` gives plain Apertium
    output (marks stripped, as ``apertium -u``), for measuring what the rules add.
    """

    name = "apertium"

    def __init__(self, options: ApertiumOptions, *, use_rules: bool = True, use_lexicon: bool | None = None):
        self.options = options
        self.max_chars = options.max_chars
        self.pairs = frozenset(tuple(key.split("-", 1)) for key in options.pairs)  # type: ignore[misc]
        self.use_rules = use_rules
        self.rules: Rules = load_rules(options.rules) if use_rules else Rules()
        if use_rules if use_lexicon is None else use_lexicon:
            self.rules.lexicon = load_lexicon()
        self._pipes: dict[str, tuple[_Pipe, _Pipe | None]] = {}
        self._done: dict[tuple[str, str], str] = {}  # lines finished in a batch that then failed
        self._tried_once: set[tuple[str, str]] = set()  # stuck in a pipelined pass: one retry left
        self._lock = threading.Lock()

    # -- process management ---------------------------------------------------------------
    def _mode_file(self, mode: str) -> Path:
        if shutil.which("lt-proc") is None or shutil.which("apertium") is None:
            raise EngineUnavailable(self.name, f"Apertium is not installed; {INSTALL_HINT}")
        path = Path(self.options.modes_dir) / f"{mode}.mode"
        if not path.is_file():
            raise EngineUnavailable(self.name, f"no Apertium mode {mode!r} ({path} is missing); {INSTALL_HINT}")
        return path

    def _start(self, mode: str) -> tuple[_Pipe, _Pipe | None]:
        first, second = split_at_bilingual(pipeline_commands(self._mode_file(mode)))
        if not first:
            raise EngineUnavailable(self.name, f"the mode {mode!r} is empty; {INSTALL_HINT}")
        pipe_a = _Pipe(first)
        pipe_b = _Pipe(second) if second else None
        self._pipes[mode] = (pipe_a, pipe_b)
        return pipe_a, pipe_b

    def _stop(self, mode: str) -> None:
        for pipe in self._pipes.pop(mode, ()):
            if pipe is not None:
                pipe.kill()

    @property
    def process_groups(self) -> list[int]:
        """Process-group ids of the running pipelines (for tests and diagnostics)."""
        return [p.pgid for pair in self._pipes.values() for p in pair if p is not None]

    def close(self) -> None:
        with self._lock:
            for mode in list(self._pipes):
                self._stop(mode)

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except (OSError, AttributeError):
            pass

    # -- translation ------------------------------------------------------------------------
    def translate_batch(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        mode = self.options.pairs.get(f"{src}-{tgt}")
        if mode is None:
            raise EngineError(self.name, f"pair {src}-{tgt} not supported (configured: {sorted(self.options.pairs)})")
        with self._lock:
            self._prefetch(texts, mode)
            out = [self._translate_text(text, mode) for text in texts]
            self._done.clear()  # the whole batch made it
        return self._check_count(texts, out)

    def _translate_text(self, text: str, mode: str) -> str:
        lines = []
        for line in text.split("\n"):
            core = line.strip()
            if not core:
                lines.append(line)
                continue
            lead, trail = line[: len(line) - len(line.lstrip())], line[len(line.rstrip()) :]
            key = (mode, core)
            if key not in self._done:
                self._done[key] = self._translate_line(core, mode)
            lines.append(lead + self._done[key] + trail)
        return "\n".join(lines)

    def _prefetch(self, texts: Sequence[str], mode: str) -> None:
        """Translate every line of the batch in one pipelined pass. If anything goes wrong
        the pipes are restarted and the lines not done yet go one by one (_translate_line),
        with its restart-and-retry, so no work is lost."""
        lines = list(dict.fromkeys(
            line.strip() for text in texts for line in text.split("\n")
            if line.strip() and (mode, line.strip()) not in self._done
        ))
        if len(lines) < 2:
            return
        pipes = self._pipes.get(mode)
        if pipes is None or not all(p.alive() for p in pipes if p is not None):
            self._stop(mode)
            pipes = self._start(mode)
        streams = [self.rules.protect(line) if self.use_rules else escape(line) for line in lines]
        pipe_a, pipe_b = pipes
        stuck = False
        try:
            if pipe_b is None:
                answers = pipe_a.ask_many([stream + "[]" for stream in streams], self.options.timeout_seconds)
            else:
                answers = stream_through(pipe_a, pipe_b, [stream + "[]" for stream in streams],
                                         self.rules.select_senses, self.options.timeout_seconds)
        except _Stuck as exc:
            answers, stuck = exc.answers, True
        for line, answer in zip(lines, answers):
            self._done[(mode, line)] = self._postprocess(unformat(answer), line)
        if stuck:
            self._stop(mode)
            if len(answers) < len(lines):  # this line has had its first try; one retry is left
                self._tried_once.add((mode, lines[len(answers)]))

    def _translate_line(self, line: str, mode: str) -> str:
        stream = self.rules.protect(line) if self.use_rules else escape(line)
        attempts = (2,) if (mode, line) in self._tried_once else (1, 2)
        self._tried_once.discard((mode, line))
        for attempt in attempts:
            pipes = self._pipes.get(mode)
            if pipes is None or not all(p.alive() for p in pipes if p is not None):
                self._stop(mode)
                pipes = self._start(mode)
            try:
                answer = self._run(pipes, stream)
                break
            except _Stuck as exc:
                self._stop(mode)  # kill both process groups; the next attempt restarts them
                if attempt == 2:
                    raise EngineError(
                        self.name, f"mode {mode}: {exc} (restarted and retried once)", transient=True
                    ) from None
        return self._postprocess(unformat(answer), line)

    def _run(self, pipes: tuple[_Pipe, _Pipe | None], stream: str) -> str:
        deadline = time.monotonic() + self.options.timeout_seconds
        pipe_a, pipe_b = pipes
        middle = pipe_a.ask(stream + "[]", deadline)  # "[]": lt-proc -b needs a char after "$"
        if pipe_b is None:
            return middle
        middle = self.rules.select_senses(middle)
        if not middle.endswith("]"):
            middle += "[]"
        return pipe_b.ask(middle, deadline)

    def _postprocess(self, text: str, source: str) -> str:
        if self.options.transliterate_unknown:
            text = transliterate_mk(text)
        if self.use_rules:
            text = self.rules.post_edit(text)
            first_src, first_out = _FIRST_LETTER.search(source), _FIRST_LETTER.search(text)
            if first_src and first_out and first_src.group().isupper() and first_out.group().islower():
                i = first_out.start()
                text = text[:i] + text[i].upper() + text[i + 1 :]
        return re.sub(r"[ \t]{2,}", " ", text).strip()
