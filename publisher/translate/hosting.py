"""Where an engine runs: on this machine, on a private network (self-hosted), or on the public
internet. ``[translation] online`` gates only the last kind. Pure functions: nothing here
connects or resolves a name (a DNS query is traffic too).

Self-hosted means the endpoint's host is

* a literal IP address that is loopback (127.0.0.0/8, ::1), private (10/8, 172.16/12,
  192.168/16, fc00::/7), link-local (169.254/16, fe80::/10) or shared CGNAT space
  (100.64/10, as used by Tailscale);
* ``localhost`` or a name under ``.localhost``, ``.local`` (mDNS), ``.internal``, ``.lan``,
  ``.home.arpa``;
* a single-label name (``http://ollama:11434``: a container or a host on the LAN; public
  names always have a dot).

Anything else is a public-internet service.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .options import TranslationSettings

PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# the key that names each engine's endpoint; engines without one (apertium) run in-process
ENDPOINT_KEYS = {"google": "base_url", "microsoft": "base_url", "mymemory": "base_url",
                 "libre": "base_url", "openai": "base_url", "deepl": "server_url"}
# an engine whose endpoint key is unset calls this public service
DEFAULT_PUBLIC = {"deepl": "https://api.deepl.com"}


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


def is_self_hosted(url: str) -> bool:
    """True when the URL's host is this machine or a private network (see the module doc)."""
    host = host_of(url)
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost" or host.endswith(PRIVATE_SUFFIXES) or "." not in host
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return bool(address.is_loopback or address.is_private or address.is_link_local
                or (address.version == 4 and address in _CGNAT))


def endpoint(name: str, settings: TranslationSettings) -> str | None:
    """The URL an engine calls, or None for an engine that runs in this process."""
    key = ENDPOINT_KEYS.get(name)
    if key is None:
        return None
    options = getattr(settings.engines, name, None)
    return getattr(options, key, None) or DEFAULT_PUBLIC.get(name)


def needs_online(name: str, settings: TranslationSettings) -> bool:
    """Whether the engine calls a public-internet service (and so needs ``online = true``)."""
    url = endpoint(name, settings)
    return url is not None and not is_self_hosted(url)


def where(name: str, settings: TranslationSettings) -> str:
    """'in this process', 'self-hosted at URL' or 'online at URL' (for config check)."""
    url = endpoint(name, settings)
    if url is None:
        return "in this process"
    return f"{'online' if needs_online(name, settings) else 'self-hosted'} at {host_of(url) or url}"
