"""DKIM signing at volume: dkimpy's own parsing, canonicalisation and header hashing, with the
RSA step (RSASSA-PKCS1-v1_5 over SHA-256) done by ``cryptography`` (OpenSSL) on a key parsed
once, instead of dkimpy's pure-Python ASN.1 parse of the PEM and ``pow`` on every message.

PKCS#1 v1.5 signatures are deterministic, so for the same message and the same second (``t=``)
the DKIM-Signature header is byte for byte the one ``dkim.sign`` makes (tests/test_send_dkim.py
checks it and verifies every signature with ``dkim.verify``). Only rsa-sha256 with
relaxed/relaxed, ``i=@domain``, no ``l=``: what :class:`publisher.delivery.mime.DkimSigner` asks
dkimpy for.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Sequence

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

_NAME = b"DKIM-Signature"
_POLICY = dkim.CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
_TRAILING_WSP = re.compile(rb"[\t ]+\r\n")
_WSP_RUN = re.compile(rb"[\t ]{2,}|\t")  # a single space stays as it is: far fewer matches


def relaxed_body(body: bytes) -> bytes:
    """dkimpy's relaxed body canonicalisation (RFC 6376 3.4.4), the same result with
    regular expressions that only match what changes (dkimpy's replaces every single space
    by a space: most of the cost of signing a long message)."""
    if b" \r\n" in body or b"\t" in body:
        body = _TRAILING_WSP.sub(b"\r\n", body)
    body = _WSP_RUN.sub(b" ", body)
    end = len(body)
    while body.endswith(b"\r\n", 0, end):
        end -= 2
    if end == len(body):
        body += b"\r\n"
    else:
        body = body[: end + 2] if end else b""
    return b"" if body == b"\r\n" else body


def load_rsa_key(pem: bytes) -> rsa.RSAPrivateKey:
    """The RSA private key of a PEM file (PKCS#1 or PKCS#8, unencrypted); ValueError otherwise."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"the key is {type(key).__name__}, not RSA")
    return key


def sign(message: bytes, selector: bytes, domain: bytes, key: rsa.RSAPrivateKey,
         include_headers: Sequence[bytes], now: float | None = None) -> bytes:
    """The DKIM-Signature header (CRLF-terminated, folded as dkimpy folds it) for ``message``."""
    parsed = dkim.DKIM(message, signature_algorithm=b"rsa-sha256", linesep=b"\r\n")
    include = tuple(h.lower() for h in include_headers)
    body = relaxed_body(parsed.body)
    fields = [
        (b"v", b"1"), (b"a", b"rsa-sha256"), (b"c", _POLICY.to_c_value()), (b"d", domain), (b"i", b"@" + domain),
        (b"q", b"dns/txt"), (b"s", selector), (b"t", str(int(time.time() if now is None else now)).encode("ascii")),
        (b"h", b" : ".join(include)), (b"bh", base64.b64encode(hashlib.sha256(body).digest())),
        (b"b", b"0" * 60),  # as dkimpy: b= folds onto its own line, refolding keeps the rest
    ]
    value = dkim.fold(b"; ".join(b"=".join(f) for f in fields), namelen=len(_NAME), linesep=b"\r\n")
    value = dkim.RE_BTAG.sub(b"\\1", value)
    hasher = hashlib.sha256()
    dkim.hash_headers(hasher, _POLICY, _POLICY.canonicalize_headers(parsed.headers), include, (_NAME, b" " + value),
                      dict(fields))
    signature = key.sign(hasher.digest(), padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    fields[-1] = (b"b", base64.b64encode(signature))
    value = dkim.fold(b"; ".join(b"=".join(f) for f in fields) + b"\r\n", namelen=len(_NAME), linesep=b"\r\n")
    return _NAME + b": " + value
