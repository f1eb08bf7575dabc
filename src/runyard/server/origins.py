"""Which browsers' requests the server answers: the host they name, and where state-changing calls come from.

A web page on another site can reach a runyard server through its visitor's browser in two ways:

- **Cross-site requests.** Any page can make the browser POST a form to
  ``http://127.0.0.1:8080/api/v1/runs/.../stop``; the browser sends it, and a server that does not look at
  where it came from stops the run (the page never sees the answer, and needs not).
- **DNS rebinding.** A page at ``http://evil.example:8080/`` re-points its own name to ``127.0.0.1``; the
  browser then takes the runyard server for ``evil.example`` and lets the page read every answer. Only the
  ``Host`` header tells the difference: it says ``evil.example``.

So the server answers a request only when:

1. its ``Host`` names this server: an IP address, ``localhost`` (or a ``*.localhost`` name), this machine's
   host name, the address it listens on, or a name allowed with ``--allowed-host`` (``.example.com``: the
   name and its subdomains; ``*``: any). The wandb client's protocol routes and runyard's ingest API are
   exempt: every call there is authenticated with an API key or a signed URL, which a rebinding page does not
   have, and the clients may reach the server under any name.
2. a state-changing call (``POST PUT PATCH DELETE``) that a browser marks as coming from a page
   (``Origin``, or ``Sec-Fetch-Site``) comes from this server's own pages, or from an origin allowed with
   ``--allowed-origin``. Programs (``curl``, the SDK, the wandb client) send neither header and are not
   affected.
3. a REST call that changes state and carries a body says ``Content-Type: application/json``. A browser
   sends that type to another site only after a CORS preflight, which this server never grants; an HTML form
   can only send form or text types. A REST body cannot be compressed (``Content-Encoding``) either. The
   ingest API is exempt (it takes gzip-compressed msgpack from programs): each of its calls needs an
   ``Authorization`` header, which no form can send, and a page's script cannot send cross-site without a
   CORS preflight, which this server never grants.

Each refusal is an error in the one JSON shape whose message says what to change. The rules are one ASGI
middleware (:class:`OriginGuard`), beside any authentication the app adds.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from runyard.server.encoding import ApiResponse
from runyard.server.errors import error_body

__all__ = ["OriginGuard", "OriginPolicy"]

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class OriginPolicy:
    """What the server answers to (see the module's rules).

    Attributes:
        allowed_hosts: further names the ``Host`` header may give: ``runyard.example.com``, ``.example.com``
            (the name and every subdomain), or ``*`` (any name: for a server behind a proxy that checks it).
        allowed_origins: further origins whose pages may change state: ``https://runyard.example.com``, or
            ``*`` (any: cross-site requests are then accepted).
        exempt_prefixes: path prefixes whose every call is authenticated by a secret (the wandb protocol,
            runyard's ingest API); neither the ``Host`` rule nor the JSON rule applies there.
        bind_host: the address or name the server listens on (allowed as a host).
    """

    allowed_hosts: Sequence[str] = ()
    allowed_origins: Sequence[str] = ()
    exempt_prefixes: Sequence[str] = ()
    bind_host: str | None = None
    _machine: frozenset[str] = field(default_factory=lambda: _machine_names(), repr=False, compare=False)

    def host_allowed(self, host: str) -> bool:
        """Whether a ``Host`` header value (``name``, ``name:port``, ``[::1]:port``) names this server."""
        name = _host_name(host)
        if name is None:
            return False
        if _is_ip(name) or name == "localhost" or name.endswith(".localhost"):
            return True
        if name in self._machine or (self.bind_host is not None and name == self.bind_host.lower().strip("[]")):
            return True
        for allowed in self.allowed_hosts:
            pattern = allowed.strip().lower().rstrip(".")
            if pattern == "*" or name == pattern:
                return True
            if pattern.startswith(".") and (name == pattern[1:] or name.endswith(pattern)):
                return True
        return False

    def origin_allowed(self, origin: str, host: str | None) -> bool:
        """Whether a page of ``origin`` may change state on the server that ``host`` (the Host header) names."""
        parsed = _origin(origin)
        if parsed is None:
            return False  # "null" (a sandboxed frame, a file:// page) or garbage
        scheme, name, port = parsed
        if host is not None:
            own_name = _host_name(host)
            own_port = _port_of(host)
            if own_name == name and (own_port if own_port is not None else _DEFAULT_PORTS.get(scheme)) == port:
                return True
        return any(allowed.strip() == "*" or _origin(allowed) == parsed for allowed in self.allowed_origins)


class OriginGuard:
    """ASGI middleware applying an :class:`OriginPolicy` to every HTTP request."""

    def __init__(self, app: ASGIApp, policy: OriginPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self._refusal(scope)
            if refusal is not None:
                status, code, message = refusal
                await ApiResponse(error_body(status, message, code), status_code=status)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        headers = _headers(scope)
        path: str = scope["path"]
        policy = self.policy
        host = headers.get("host")
        exempt = any(path.startswith(prefix) for prefix in policy.exempt_prefixes)
        if host is not None and not exempt and not policy.host_allowed(host):
            name = _host_name(host) or host
            return (
                400,
                "bad_host",
                f"this runyard server does not answer to the host name {name!r}: a page of another site may be "
                "trying to reach it through your browser (DNS rebinding). If you reach the server under this "
                f"name, start it with --allowed-host {name}",
            )
        if scope["method"] not in _UNSAFE:
            return None
        origin = headers.get("origin")
        site = headers.get("sec-fetch-site")
        if origin is not None:
            if not policy.origin_allowed(origin, host):
                return (
                    403,
                    "cross_site",
                    f"{scope['method']} {path} came from a page of {origin}, not of this server: changes are "
                    "accepted only from runyard's own pages. If runyard is served under that address (behind a "
                    f"proxy), start it with --allowed-origin {origin}",
                )
        elif site in ("cross-site", "same-site"):
            return (
                403,
                "cross_site",
                f"{scope['method']} {path} came from a page of another site ({site}): changes are accepted only "
                "from runyard's own pages",
            )
        if path.startswith("/api/") and not exempt:
            return _json_refusal(headers)
        return None


def _json_refusal(headers: dict[str, str]) -> tuple[int, str, str] | None:
    """Why a state-changing REST call's body is refused: not JSON, or compressed; None when it is fine."""
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        return 415, "json_required", f"the REST API takes uncompressed JSON bodies, not Content-Encoding {encoding!r}"
    kind = headers.get("content-type")
    has_body = headers.get("content-length", "0").strip() not in ("", "0") or "transfer-encoding" in headers
    if kind is None:
        if has_body:
            return 415, "json_required", "send the body as JSON, with Content-Type: application/json"
        return None
    media = kind.split(";", 1)[0].strip().lower()
    if media == "application/json" or (media.startswith("application/") and media.endswith("+json")):
        return None
    return (
        415,
        "json_required",
        f"the REST API takes JSON bodies (Content-Type: application/json), not {media or 'an empty type'}",
    )


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name (the first of repeated ones), decoded as Latin-1."""
    found: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        found.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return found


def _host_name(host: str) -> str | None:
    """The name of a ``Host`` value, lower-cased, without port, brackets or a trailing dot."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else None
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.rstrip(".")
    return name or None


def _port_of(host: str) -> int | None:
    host = host.strip()
    tail = host[host.rfind("]") + 1 :] if host.startswith("[") else host
    if tail.count(":") != 1:
        return None
    try:
        return int(tail.rsplit(":", 1)[1])
    except ValueError:
        return None


def _origin(value: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an origin (``https://runyard.example.com``), the port made explicit."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower().rstrip("."), port if port is not None else _DEFAULT_PORTS[scheme]


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _machine_names() -> frozenset[str]:
    """This machine's host names (a rebinding page cannot make a browser use them for its own origin)."""
    try:
        name = socket.gethostname().lower().rstrip(".")
    except OSError:
        return frozenset()
    if not name:
        return frozenset()
    short = name.split(".", 1)[0]
    return frozenset({name, short, f"{short}.local"})  # .local: the name on the LAN by mDNS
