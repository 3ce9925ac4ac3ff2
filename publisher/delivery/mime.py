"""RFC 5322 messages built fast for many recipients.

A :class:`MessageTemplate` is built once per (message, language) from the rendered subject,
HTML and plain text. Per recipient it only substitutes a few markers (the address, the
unsubscribe / preferences / confirm URLs), encodes the two text parts (``binascii``, in C) and
joins pre-built byte strings; DKIM signing, when configured, is the only expensive step.

Every header value passes through :func:`clean_header`: CR, LF and every other control
character become spaces, so no stored field (a release title, a display name) can add a header.
"""

from __future__ import annotations

import binascii
import html
import os
import re
import time
from collections.abc import Mapping, Sequence
from email.header import Header
from email.utils import formatdate, parseaddr
from pathlib import Path

from ..errors import RenderError

# Markers that templates print where a per-recipient value goes. Plain ASCII words survive
# Jinja2 escaping, css-inline and quoted-printable untouched.
EMAIL = "__PUB_EMAIL__"
UNSUBSCRIBE_URL = "__PUB_UNSUBSCRIBE_URL__"
PREFERENCES_URL = "__PUB_PREFERENCES_URL__"
CONFIRM_URL = "__PUB_CONFIRM_URL__"
MARKERS = {"email": EMAIL, "unsubscribe_url": UNSUBSCRIBE_URL, "preferences_url": PREFERENCES_URL,
           "confirm_url": CONFIRM_URL}
_MARKER = re.compile(r"(__PUB_[A-Z_]+__)")
_NAME_OF = {marker: name for name, marker in MARKERS.items()}

# C0 controls (CR, LF, TAB included), DEL, C1 controls, and Unicode line/paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]+")
_SPACES = re.compile(r"\s{2,}")

SIGNED_HEADERS = (
    b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"mime-version", b"content-type",
    b"content-language", b"list-id", b"list-unsubscribe", b"list-unsubscribe-post", b"auto-submitted",
)


def clean_header(value: object) -> str:
    """One line of text: control characters (CR/LF above all) become single spaces."""
    text = _CONTROL.sub(" ", str(value))
    return _SPACES.sub(" ", text).strip()


def shorten(value: object, limit: int) -> str:
    """One header line of at most ``limit`` characters: a longer one is cut at the last word
    boundary that fits and ends with "…" (a single word longer than half the limit is cut
    inside it)."""
    text = clean_header(value)
    if len(text) <= limit:
        return text
    room = text[: limit - 1]
    if text[limit - 1] == " ":
        head = room
    else:
        head = room.rsplit(" ", 1)[0] if " " in room else room
        if len(head) < limit // 2:
            head = room
    return head.rstrip(" ,;:.-\u2013\u2014") + "…"


def encode_header(name: str, value: str) -> bytes:
    """``Name: value`` folded at 78 columns with CRLF; non-ASCII as RFC 2047 encoded-words."""
    value = clean_header(value)
    charset = "us-ascii" if value.isascii() else "utf-8"
    encoded = Header(value, charset, header_name=name).encode(linesep="\r\n", maxlinelen=78)
    return f"{name}: {encoded}\r\n".encode("ascii")


def ascii_address(address: str) -> str:
    """A bare address fit for a header: cleaned, the domain in IDNA; a non-ASCII local part
    would need SMTPUTF8, which we do not use, so it is refused."""
    address = clean_header(address).strip("<>")
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or any(c in address for c in ' <>,;"\\'):
        raise RenderError(f"{address!r} is not a usable e-mail address")
    if not local.isascii():
        raise RenderError(f"{address!r}: addresses with a non-ASCII local part are not supported")
    try:
        domain = domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    except UnicodeError:
        raise RenderError(f"{address!r}: the domain is not a valid internationalised name") from None
    return f"{local}@{domain.lower()}"


def format_mailbox(value: str) -> tuple[str, str]:
    """'Display Name <addr>' → (header text, bare address); the name RFC 2047-encoded if needed."""
    name, address = parseaddr(clean_header(value))
    address = ascii_address(address)
    name = clean_header(name)
    if not name:
        return address, address
    if name.isascii():
        quoted = name if re.fullmatch(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+", name) else \
            '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    else:
        quoted = Header(name, "utf-8").encode(maxlinelen=998)
    return f"{quoted} <{address}>", address


def _qp(text: str) -> bytes:
    body = binascii.b2a_qp(text.encode("utf-8"), istext=True)
    return body.replace(b"\n", b"\r\n")


def _b64(text: str) -> bytes:
    data = text.replace("\n", "\r\n").encode("utf-8")  # canonical CRLF line breaks (RFC 2046 4.1.1)
    return b"\r\n".join(binascii.b2a_base64(data[i:i + 57], newline=False) for i in range(0, len(data), 57))


def choose_encoding(sample: str) -> str:
    """Quoted-printable for mostly-ASCII text (readable, compact); base64 when most characters
    are not ASCII (Cyrillic grows 3x in quoted-printable, 1.33x in base64)."""
    if not sample:
        return "quoted-printable"
    non_ascii = sum(1 for c in sample if ord(c) > 127)
    return "base64" if non_ascii * 3 > len(sample) else "quoted-printable"


class DkimSigner:
    """DKIM (rsa-sha256, relaxed/relaxed); the key is read once. ``signer = "fast"`` (the
    default): dkimpy's canonicalisation with the RSA step by ``cryptography`` (dkim_fast.py,
    the same bytes); ``"dkimpy"``: ``dkim.sign`` itself (pure-Python RSA, ~7 ms a message)."""

    def __init__(self, selector: str, domain: str, private_key: bytes,
                 headers: Sequence[bytes] = SIGNED_HEADERS, signer: str = "fast"):
        import dkim

        self.selector, self.domain = selector.encode("ascii"), domain.encode("ascii")
        self.private_key = private_key
        self.headers = list(headers)
        self.signer = signer
        self._dkim = dkim
        self._key = None
        try:  # fail at start, not at the first send
            dkim.crypto.parse_pem_private_key(private_key)
            if signer == "fast":
                from .dkim_fast import load_rsa_key

                self._key = load_rsa_key(private_key)
        except Exception as exc:  # noqa: BLE001 (dkimpy raises several unrelated kinds)
            raise RenderError(f"the DKIM private key cannot be read ({exc}); use an RSA key in PEM") from None

    @classmethod
    def from_settings(cls, settings) -> DkimSigner | None:
        """From DkimSettings; None when signing is not configured."""
        if not settings.enabled:
            return None
        path = Path(settings.private_key_file)
        try:
            key = path.read_bytes()
        except OSError as exc:
            raise RenderError(f"[dkim] private_key_file {path} cannot be read ({exc.strerror})") from None
        return cls(settings.selector, settings.domain, key, signer=getattr(settings, "signer", "fast"))

    def sign(self, message: bytes) -> bytes:
        if self._key is not None:
            from .dkim_fast import sign

            return sign(message, self.selector, self.domain, self._key, self.headers) + message
        signature = self._dkim.sign(message, self.selector, self.domain, self.private_key,
                                    canonicalize=(b"relaxed", b"relaxed"), include_headers=self.headers,
                                    linesep=b"\r\n")
        return signature + message


class MessageTemplate:
    """A message for one language, personalised per recipient by substitution.

    ``html`` and ``text`` may contain the markers in :data:`MARKERS`; ``personalise`` fills
    them (HTML-escaped in the HTML part) and returns ``(bytes, message_id)``.
    """

    def __init__(
        self, *, sender: str, subject: str, html_body: str, text_body: str, lang: str,
        list_id: str | None = None, reply_to: str | None = None, unsubscribe_mailto: str | None = None,
        bulk: bool = True, signer: DkimSigner | None = None,
    ):
        self.from_header, self.sender = format_mailbox(sender)
        self.domain = self.sender.rpartition("@")[2]
        self.lang = clean_header(lang)
        self.signer = signer
        self.unsubscribe_mailto = ascii_address(unsubscribe_mailto) if unsubscribe_mailto else None
        self.subject = clean_header(subject)
        head = [f"From: {self.from_header}\r\n".encode("ascii")]
        if reply_to:
            head.append(f"Reply-To: {format_mailbox(reply_to)[0]}\r\n".encode("ascii"))
        head.append(encode_header("Subject", self.subject))
        if list_id:
            head.append(encode_header("List-Id", list_id))
        head.append(b"Auto-Submitted: auto-generated\r\n")
        if bulk:
            head.append(b"Precedence: bulk\r\n")
        self._head = b"".join(head)
        boundary = "=_" + binascii.hexlify(os.urandom(12)).decode("ascii")  # "=_" never occurs in QP
        self._boundary = boundary.encode("ascii")
        self._tail_head = (
            f"Content-Language: {self.lang}\r\nMIME-Version: 1.0\r\n"
            f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
        ).encode("ascii")
        self._text = _MARKER.split(text_body.replace("\r\n", "\n"))
        self._html = _MARKER.split(html_body.replace("\r\n", "\n"))
        self._text_cte = choose_encoding(text_body)
        self._html_cte = choose_encoding(html_body)
        self._counter = 0

    # ------------------------------------------------------------------ per recipient
    @staticmethod
    def _fill(segments: list[str], values: Mapping[str, str], escape: bool) -> str:
        if len(segments) == 1:
            return segments[0]
        out = segments[:]
        for i in range(1, len(out), 2):
            name = _NAME_OF.get(out[i])
            if name is None:
                continue  # not one of ours: leave the text as written
            value = values.get(name)
            if value is None:
                raise RenderError(f"the message needs a value for {name!r} and none was given")
            out[i] = html.escape(value) if escape else value
        return "".join(out)

    def _part(self, content_type: str, cte: str, text: str) -> bytes:
        body = _qp(text) if cte == "quoted-printable" else _b64(text)
        return (b"--" + self._boundary + b"\r\nContent-Type: " + content_type.encode("ascii")
                + b'; charset="utf-8"\r\nContent-Transfer-Encoding: ' + cte.encode("ascii") + b"\r\n\r\n"
                + body + b"\r\n")  # this CRLF belongs to the boundary (RFC 2046 5.1.1)

    def new_message_id(self) -> str:
        self._counter += 1
        unique = binascii.hexlify(os.urandom(9)).decode("ascii")
        return f"<{time.time_ns() // 1_000_000:x}.{self._counter:x}.{unique}@{self.domain}>"

    def personalise(self, recipient: str, values: Mapping[str, str] | None = None,
                    message_id: str | None = None) -> tuple[bytes, str]:
        """The final message bytes (CRLF; signed when a signer is set) and its Message-ID:
        ``message_id`` if given (a delivery's from its first attempt), else a new one."""
        address = ascii_address(recipient)
        values = {k: clean_header(v) for k, v in (values or {}).items()}
        values["email"] = address
        if message_id is None:
            message_id = self.new_message_id()
        elif not (message_id.isascii() and clean_header(message_id) == message_id and message_id.startswith("<")
                  and message_id.endswith(">") and "@" in message_id):
            raise RenderError(f"{message_id!r} is not a usable Message-ID (ASCII <local@domain>)")
        head = [self._head, b"To: ", address.encode("ascii"), b"\r\nDate: ",
                formatdate(usegmt=True).encode("ascii"), b"\r\nMessage-ID: ", message_id.encode("ascii"), b"\r\n"]
        unsubscribe = values.get("unsubscribe_url")
        if unsubscribe:
            if not unsubscribe.isascii():
                raise RenderError("the unsubscribe URL must be ASCII")
            uris = [f"<{unsubscribe}>"]
            if self.unsubscribe_mailto:
                uris.append(f"<mailto:{self.unsubscribe_mailto}?subject=unsubscribe>")
            head.append(("List-Unsubscribe: " + ",\r\n ".join(uris) + "\r\n").encode("ascii"))
            head.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
        text = self._fill(self._text, values, escape=False)
        html_text = self._fill(self._html, values, escape=True)
        data = b"".join((
            *head, self._tail_head,
            self._part("text/plain", self._text_cte, text),
            self._part("text/html", self._html_cte, html_text),
            b"--", self._boundary, b"--\r\n",
        ))
        if self.signer is not None:
            data = self.signer.sign(data)
        return data, message_id
