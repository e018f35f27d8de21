"""Fetch a request's input (an http(s) URL or Base64 data) into a local file, safely.

The URLs come from API callers, so the server must not become their proxy into its own
network (SSRF). Every hop of a fetch is checked the same way:

    URL ── scheme http/https? ── resolve host ── every address public (or allow-listed)?
        ── connect to the checked address itself (no second DNS lookup to rebind)
        ── 3xx? check the Location like a new URL (at most ``max_redirects`` hops)
        ── stream the body, cut off at ``max_bytes`` or when the time is up

Errors become ``OmniError(1201)`` naming the field, for example
``image_list[0].image_url: could not fetch http://10.0.0.1/a.png: host 10.0.0.1 is a private
address``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes

from omnivideo.contract.errors import invalid

if TYPE_CHECKING:
    # Imported where a request is made: the server imports this module at start (the fetch
    # policy), and httpx (with its command line's rich and pygments) costs a tenth of a start.
    import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

#: cloud metadata services: refused even with ``allow_private``, unless their own address
#: (or a network holding it) is allow-listed
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_DIGITS = re.compile(r"[0-9]{1,20}")
#: no image or video file is shorter (the smallest valid GIF has 26 bytes)
_SMALLEST_FILE = 16


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))


@dataclass(frozen=True)
class FetchPolicy:
    """Where fetches may go and how long they may take."""

    #: hostnames (exact, case-insensitive), IP addresses or CIDR networks that may be private
    allow_hosts: frozenset[str] = frozenset()
    #: allow every private, loopback and link-local address (not cloud metadata addresses)
    allow_private: bool = False
    connect_timeout_s: float = 5.0
    #: longest wait for any single read
    read_timeout_s: float = 15.0
    #: the whole fetch, redirects included
    total_timeout_s: float = 120.0
    max_redirects: int = 5
    user_agent: str = "omnivideo"
    #: trust for https (a private CA, say); None means the usual public roots
    ssl_context: ssl.SSLContext | None = None
    #: DNS lookup; tests pass a fake one
    resolver: Resolver = system_resolver
    #: appended to the refusal of a private host, ``{host}`` filled in: how an operator
    #: allows it (the server names its own option); cloud metadata addresses get no hint
    how_to_allow: str = ""


class FetchError(Exception):
    """A fetch was refused or failed; ``str(exc)`` is the reason, without the field path."""


def address_kind(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address ("private", "loopback", ...), or None if it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address inside an IPv6 one is judged as that IPv4 address.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in ipaddress.ip_network("64:ff9b::/96"):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return address_kind(embedded)
    if ip in METADATA_ADDRESSES:
        return "metadata"
    checks = (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("non-public", not ip.is_global),
    )
    return next((kind for kind, hit in checks if hit), None)


def _allowed(host: str, ip: IPAddress, kind: str, policy: FetchPolicy) -> bool:
    networks = []
    names = set()
    for entry in policy.allow_hosts:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            names.add(entry.strip().lower().rstrip("."))
    if any(ip in net for net in networks if net.version == ip.version):
        return True
    if kind == "metadata":
        return False
    return policy.allow_private or host.lower().rstrip(".") in names


def resolve_checked(host: str, port: int, policy: FetchPolicy) -> list[IPAddress]:
    """The addresses of ``host``, each checked against ``policy``; raises :class:`FetchError`.

    All of them must pass: a name that resolves to one public and one private address is
    refused, since either could be the one connected to.
    """
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            found = policy.resolver(host, port)
        except (OSError, UnicodeError):
            raise FetchError(f"host {host} could not be resolved") from None
        addresses = [ipaddress.ip_address(a) for a in found]
        if not addresses:
            raise FetchError(f"host {host} could not be resolved")
    for ip in addresses:
        kind = address_kind(ip)
        if kind is not None and not _allowed(host, ip, kind, policy):
            what = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} address"
            hint = ""
            if policy.how_to_allow and kind != "metadata":
                hint = "; " + policy.how_to_allow.format(host=host)
            if literal is not None:
                raise FetchError(f"host {host} is {what}{hint}")
            raise FetchError(f"host {host} resolves to {ip}, {what}{hint}")
    return addresses


def _parse_url(url: str) -> httpx.URL:
    import httpx

    match = _SCHEME.match(url)
    if match is None or match.group(1).lower() not in ("http", "https"):
        raise FetchError("only http and https URLs are supported")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise FetchError("not a valid URL") from None
    # `raw_host`, not `host`: decoding a malformed IDNA name (xn--zz) raises outside httpx's
    # own error types; the raw name is what gets resolved anyway.
    raw = parsed.raw_host.decode("ascii", errors="replace")
    if not raw:
        raise FetchError("the URL has no host")
    if raw.startswith("xn--") or ".xn--" in raw:
        try:
            raw.encode("ascii").decode("idna")
        except UnicodeError:
            raise FetchError("the host is not a valid internationalised name") from None
    return parsed


def check_url(url: str, policy: FetchPolicy, *, label: str) -> None:
    """Refuse (``OmniError(1201)``) a URL the server must not send requests to.

    For URLs the server calls later, such as ``callback_url``; the caller should check again
    when it sends, since DNS can change in between.
    """
    try:
        parsed = _parse_url(url)
        resolve_checked(
            parsed.raw_host.decode("ascii"), parsed.port or _default_port(parsed), policy
        )
    except FetchError as exc:
        raise invalid(f"{label}: {_shown(url)} is not allowed: {exc}") from None


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


def _shown(url: str) -> str:
    return url if len(url) <= 100 else url[:97] + "..."


@contextmanager
def _network_errors(host: str) -> Iterator[None]:
    """httpx's exceptions, said in words (the one place they are translated)."""
    import httpx

    try:
        yield
    except httpx.ConnectTimeout:
        raise FetchError(f"timed out connecting to {host}") from None
    except httpx.TimeoutException:
        raise FetchError(f"timed out waiting for {host}") from None
    except httpx.ConnectError:
        raise FetchError(f"could not connect to {host}") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"network error from {host} ({type(exc).__name__})") from None


def send_pinned(
    client: httpx.Client,
    method: str,
    target: httpx.URL,
    policy: FetchPolicy,
    *,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    timeout: httpx.Timeout | float | None = None,
) -> httpx.Response:
    """Send one request to a checked address of ``target``'s host (streamed; close it).

    The host is resolved once and every address checked against ``policy``; the connection
    goes to the checked address itself, so a second DNS answer cannot point it elsewhere
    (rebinding). Host and SNI keep the real name. Raises :class:`FetchError`.
    """
    host = target.raw_host.decode("ascii")
    port = target.port or _default_port(target)
    addresses = resolve_checked(host, port, policy)
    pinned = {**(headers or {}), "Host": target.netloc.decode("ascii")}
    extensions = {"sni_hostname": host} if target.scheme == "https" else {}
    last: FetchError | None = None
    for ip in addresses:
        request = client.build_request(
            method,
            target.copy_with(host=str(ip)),
            headers=pinned,
            content=content,
            timeout=timeout,
            extensions=extensions,
        )
        try:
            with _network_errors(host):
                return client.send(request, stream=True)
        except FetchError as exc:
            last = exc
    raise last or FetchError(f"host {host} could not be resolved")


class _Fetch:
    """One URL fetch: hops, pinned connections, the streamed body."""

    def __init__(self, policy: FetchPolicy, max_bytes: int) -> None:
        self.policy = policy
        self.max_bytes = max_bytes
        self.deadline = time.monotonic() + policy.total_timeout_s

    def _timeout(self) -> httpx.Timeout:
        import httpx

        left = self.deadline - time.monotonic()
        if left <= 0:
            raise FetchError(f"took longer than {self.policy.total_timeout_s:g} s")
        return httpx.Timeout(
            connect=min(self.policy.connect_timeout_s, left),
            read=min(self.policy.read_timeout_s, left),
            write=min(self.policy.read_timeout_s, left),
            pool=min(self.policy.connect_timeout_s, left),
        )

    def run(self, url: str, dest: Path) -> None:
        import httpx

        verify: ssl.SSLContext | bool = self.policy.ssl_context or True
        with httpx.Client(trust_env=False, follow_redirects=False, verify=verify) as client:
            for hop in range(self.policy.max_redirects + 1):
                try:
                    target = _parse_url(url)
                    response = self._open(client, target)
                except FetchError as exc:
                    if hop == 0:
                        raise
                    raise FetchError(f"redirected to {_shown(url)}: {exc}") from None
                try:
                    location = response.headers.get("location")
                    if response.status_code in _REDIRECTS and location:
                        try:
                            url = str(target.join(location))
                        except (httpx.InvalidURL, ValueError):
                            raise FetchError("the server redirected to an invalid URL") from None
                        continue
                    if not 200 <= response.status_code < 300:
                        raise FetchError(f"the server answered HTTP {response.status_code}")
                    self._save(response, dest, target.raw_host.decode("ascii", errors="replace"))
                    return
                finally:
                    response.close()
        raise FetchError(f"more than {self.policy.max_redirects} redirects")

    def _open(self, client: httpx.Client, target: httpx.URL) -> httpx.Response:
        headers = {"User-Agent": self.policy.user_agent, "Accept-Encoding": "identity"}
        return send_pinned(
            client, "GET", target, self.policy, headers=headers, timeout=self._timeout()
        )

    def _save(self, response: httpx.Response, dest: Path, host: str) -> None:
        declared = response.headers.get("content-length", "").strip()
        if _DIGITS.fullmatch(declared) and int(declared) > self.max_bytes:
            raise FetchError(f"the file is {_size(int(declared))}; at most {_size(self.max_bytes)}")
        written = 0
        with dest.open("wb") as out, _network_errors(host):
            for chunk in response.iter_bytes():
                written += len(chunk)
                if written > self.max_bytes:
                    raise FetchError(f"the file is larger than {_size(self.max_bytes)}")
                if time.monotonic() > self.deadline:
                    raise FetchError(f"took longer than {self.policy.total_timeout_s:g} s")
                out.write(chunk)
        if written == 0:
            raise FetchError("the file is empty")


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
    if n >= 1024:
        return f"{n / 1024:.1f} KB".replace(".0 KB", " KB")
    return f"{n} bytes"


def _decode_base64(text: str, max_bytes: int) -> bytes:
    compact = "".join(text.split())
    if len(compact) // 4 * 3 > max_bytes + 3:
        raise FetchError(f"the data is larger than {_size(max_bytes)}")
    compact += "=" * (-len(compact) % 4)
    try:
        if "-" in compact or "_" in compact:
            data = base64.b64decode(compact, altchars=b"-_", validate=True)
        else:
            data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise FetchError("is neither an http(s) URL nor valid Base64 data") from None
    if len(data) > max_bytes:
        raise FetchError(f"the data is larger than {_size(max_bytes)}")
    if not data:
        raise FetchError("the data is empty")
    return data


def _decode_bare_base64(text: str, max_bytes: int) -> bytes:
    # Without a scheme a value is taken for Base64, so a stray word ("not a url", a host
    # without http://) must not decode into a few junk bytes that the probe then calls an
    # unreadable image: the caller's mistake is the kind of value, not the file.
    if " " in text:
        raise FetchError("is neither an http(s) URL nor valid Base64 data (it has spaces)")
    data = _decode_base64(text, max_bytes)
    if len(data) < _SMALLEST_FILE:
        raise FetchError(
            f"is neither an http(s) URL nor Base64 data of a file (it decodes to {len(data)} bytes)"
        )
    return data


def _decode_data_uri(uri: str, max_bytes: int) -> bytes:
    header, comma, payload = uri.partition(",")
    if not comma:
        raise FetchError("the data: URI has no ','")
    if header.lower().endswith(";base64"):
        return _decode_base64(payload, max_bytes)
    if len(payload) > 3 * max_bytes:
        raise FetchError(f"the data is larger than {_size(max_bytes)}")
    data = unquote_to_bytes(payload)
    if len(data) > max_bytes:
        raise FetchError(f"the data is larger than {_size(max_bytes)}")
    if not data:
        raise FetchError("the data is empty")
    return data


def fetch_input(
    value: str,
    dest: Path,
    *,
    max_bytes: int,
    policy: FetchPolicy,
    label: str = "input",
) -> Path:
    """Write the input ``value`` (URL, Base64 or ``data:`` URI) to ``dest`` and return ``dest``.

    Raises ``OmniError(1201)`` whose message starts with ``label`` (the field path). On any
    failure ``dest`` does not exist afterwards.
    """
    text = value.strip()
    try:
        if not text:
            raise FetchError("is empty")
        scheme = _SCHEME.match(text)
        if scheme is not None and scheme.group(1).lower() == "data":
            dest.write_bytes(_decode_data_uri(text, max_bytes))
        elif scheme is not None:
            try:
                _Fetch(policy, max_bytes).run(text, dest)
            except FetchError as exc:
                raise FetchError(f"could not fetch {_shown(text)}: {exc}") from None
        else:
            dest.write_bytes(_decode_bare_base64(text, max_bytes))
    except FetchError as exc:
        dest.unlink(missing_ok=True)
        reason = str(exc)
        raise invalid(f"{label}: {reason}") from None
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return dest


async def afetch_input(
    value: str,
    dest: Path,
    *,
    max_bytes: int,
    policy: FetchPolicy,
    label: str = "input",
) -> Path:
    """:func:`fetch_input` off the event loop (DNS lookups and file writes block anyway)."""
    return await asyncio.to_thread(
        fetch_input, value, dest, max_bytes=max_bytes, policy=policy, label=label
    )
