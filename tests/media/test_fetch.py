from __future__ import annotations

import asyncio
import base64
import ipaddress
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import pytest

from omnivideo.contract import OmniError
from omnivideo.media.fetch import (
    FetchPolicy,
    address_kind,
    afetch_input,
    check_url,
    fetch_input,
    resolve_checked,
)

from .conftest import Server

LOOPBACK = FetchPolicy(allow_hosts=frozenset({"127.0.0.1"}))
DATA = bytes(range(256)) * 40  # 10 KB
LABEL = "image_list[0].image_url"


def fake_dns(table: Mapping[str, Sequence[str]]) -> FetchPolicy:
    """A policy whose DNS answers from ``table`` (and fails for anything else)."""

    def resolve(host: str, port: int) -> Sequence[str]:
        if host not in table:
            raise socket.gaierror(f"unknown host {host}")
        return table[host]

    return FetchPolicy(resolver=resolve)


def refused(value: str, dest: Path, policy: FetchPolicy, max_bytes: int = 1 << 20) -> str:
    with pytest.raises(OmniError) as info:
        fetch_input(value, dest, max_bytes=max_bytes, policy=policy, label=LABEL)
    assert info.value.code == 1201
    assert not dest.exists()
    return info.value.message


# --- URLs


def test_fetches_a_url(server: Server, tmp_path: Path) -> None:
    server.files["/a.png"] = DATA
    out = fetch_input(server.url("/a.png"), tmp_path / "a", max_bytes=len(DATA), policy=LOOPBACK)
    assert out == tmp_path / "a"
    assert out.read_bytes() == DATA


def test_loopback_is_refused_unless_allow_listed(server: Server, tmp_path: Path) -> None:
    server.files["/a.png"] = DATA
    message = refused(server.url("/a.png"), tmp_path / "a", FetchPolicy())
    assert message == (
        f"{LABEL}: could not fetch {server.url('/a.png')}: host 127.0.0.1 is a loopback address"
    )
    assert server.requests == []  # refused before connecting


def test_allow_private_opens_loopback(server: Server, tmp_path: Path) -> None:
    server.files["/a.png"] = DATA
    policy = FetchPolicy(allow_private=True)
    assert fetch_input(server.url("/a.png"), tmp_path / "a", max_bytes=1 << 20, policy=policy)


def test_allow_list_takes_networks(server: Server, tmp_path: Path) -> None:
    server.files["/a.png"] = DATA
    policy = FetchPolicy(allow_hosts=frozenset({"127.0.0.0/8"}))
    assert fetch_input(server.url("/a.png"), tmp_path / "a", max_bytes=1 << 20, policy=policy)


def test_redirect_hops_are_checked_again(
    server: Server, other_server: Server, tmp_path: Path
) -> None:
    """127.0.0.1 is allow-listed; its redirect to a live server on 127.0.0.2 is not."""
    other_server.files["/secret"] = b"internal"
    start = server.url("/redirect?to=" + quote(other_server.url("/secret")))

    message = refused(start, tmp_path / "a", LOOPBACK)
    assert message == (
        f"{LABEL}: could not fetch {start}: redirected to {other_server.url('/secret')}: "
        "host 127.0.0.2 is a loopback address"
    )
    assert [p for p, _ in server.requests] == ["/redirect?to=" + quote(other_server.url("/secret"))]
    assert other_server.requests == []

    # Control: the same redirect is followed once 127.0.0.2 is allow-listed too.
    both = FetchPolicy(allow_hosts=frozenset({"127.0.0.1", "127.0.0.2"}))
    out = fetch_input(start, tmp_path / "b", max_bytes=100, policy=both)
    assert out.read_bytes() == b"internal"
    assert len(other_server.requests) == 1


def test_redirect_to_the_same_host_by_another_name_is_refused(
    server: Server, tmp_path: Path
) -> None:
    """Only the name "localhost" is allow-listed; its own address, spelled out, is not."""
    server.files["/a.png"] = DATA
    policy = FetchPolicy(
        allow_hosts=frozenset({"localhost"}),
        resolver=lambda host, port: ["127.0.0.1"] if host == "localhost" else [],
    )
    start = f"http://localhost:{server.port}/redirect?to=" + quote(server.url("/a.png"))
    message = refused(start, tmp_path / "a", policy)
    assert message.endswith(
        f"redirected to {server.url('/a.png')}: host 127.0.0.1 is a loopback address"
    )
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "host 169.254.169.254 is a metadata address"),
        ("http://[fd00:ec2::254]/latest/", "host fd00:ec2::254 is a metadata address"),
        ("http://10.0.0.1/", "host 10.0.0.1 is a private address"),
        ("http://[::ffff:192.168.0.1]/", "host ::ffff:192.168.0.1 is a private address"),
        ("http://0.0.0.0/", "host 0.0.0.0 is an unspecified address"),
        ("ftp://files.example/x", "only http and https URLs are supported"),
    ],
)
def test_redirects_to_internal_targets_are_refused(
    server: Server, tmp_path: Path, target: str, reason: str
) -> None:
    start = server.url("/redirect?to=" + quote(target))
    message = refused(start, tmp_path / "a", LOOPBACK)
    assert message == f"{LABEL}: could not fetch {start}: redirected to {target}: {reason}"


def test_relative_redirects_and_303(server: Server, tmp_path: Path) -> None:
    server.files["/b.png"] = DATA
    start = server.url("/redirect?status=303&to=/b.png")
    assert (
        fetch_input(start, tmp_path / "a", max_bytes=1 << 20, policy=LOOPBACK).read_bytes() == DATA
    )


def test_at_most_five_redirects(server: Server, tmp_path: Path) -> None:
    message = refused(server.url("/loop"), tmp_path / "a", LOOPBACK)
    assert message.endswith(": more than 5 redirects")
    assert len(server.requests) == 6


def test_connects_to_the_checked_address_with_the_real_host_name(
    server: Server, tmp_path: Path
) -> None:
    """The name is resolved once, by the check; the request goes to that address with the
    original Host header ("media.test" exists in no real DNS, so nothing else could work)."""
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    policy = FetchPolicy(allow_hosts=frozenset({"media.test"}), resolver=resolve)
    url = f"http://media.test:{server.port}/host"
    out = fetch_input(url, tmp_path / "a", max_bytes=100, policy=policy)
    assert out.read_bytes() == f"media.test:{server.port}".encode()
    assert calls == ["media.test"]


@pytest.mark.parametrize(
    ("table", "reason"),
    [
        ({"evil.test": ["10.0.0.1"]}, "host evil.test resolves to 10.0.0.1, a private address"),
        (
            {"evil.test": ["93.184.216.34", "127.0.0.1"]},
            "host evil.test resolves to 127.0.0.1, a loopback address",
        ),
        (
            {"evil.test": ["169.254.169.254"]},
            "host evil.test resolves to 169.254.169.254, a metadata address",
        ),
        ({}, "host evil.test could not be resolved"),
    ],
)
def test_every_resolved_address_is_checked(
    tmp_path: Path, table: dict[str, list[str]], reason: str
) -> None:
    message = refused("https://evil.test/a.png", tmp_path / "a", fake_dns(table))
    assert message == f"{LABEL}: could not fetch https://evil.test/a.png: {reason}"


def test_allow_private_does_not_open_metadata() -> None:
    policy = FetchPolicy(
        allow_private=True,
        allow_hosts=frozenset({"meta.test"}),
        resolver=lambda h, p: ["169.254.169.254"],
    )
    with pytest.raises(Exception, match="metadata address"):
        resolve_checked("meta.test", 80, policy)
    listed = FetchPolicy(allow_hosts=frozenset({"169.254.169.254/32"}), resolver=policy.resolver)
    assert resolve_checked("meta.test", 80, listed) == [ipaddress.ip_address("169.254.169.254")]


def test_a_body_over_the_cap_is_cut_off(server: Server, tmp_path: Path) -> None:
    # The body never ends: only cutting it off at the cap lets the fetch return.
    started = time.monotonic()
    message = refused(server.url("/endless"), tmp_path / "a", LOOPBACK, max_bytes=100_000)
    assert message.endswith(": the file is larger than 97.7 KB")
    assert time.monotonic() - started < 5


def test_a_declared_length_over_the_cap_is_refused_before_reading(
    server: Server, tmp_path: Path
) -> None:
    message = refused(server.url("/declared-huge"), tmp_path / "a", LOOPBACK, max_bytes=10 << 20)
    assert message.endswith(": the file is 953.7 MB; at most 10 MB")


def test_a_silent_server_times_out(server: Server, tmp_path: Path) -> None:
    policy = FetchPolicy(allow_hosts=frozenset({"127.0.0.1"}), read_timeout_s=0.3)
    started = time.monotonic()
    message = refused(server.url("/silent?s=3"), tmp_path / "a", policy)
    assert message.endswith(": timed out waiting for 127.0.0.1")
    assert time.monotonic() - started < 2


def test_a_dripping_server_hits_the_total_timeout(server: Server, tmp_path: Path) -> None:
    # Each byte arrives well within the read timeout; only the total limit stops it.
    policy = FetchPolicy(
        allow_hosts=frozenset({"127.0.0.1"}), read_timeout_s=1, total_timeout_s=0.5
    )
    started = time.monotonic()
    message = refused(server.url("/drip"), tmp_path / "a", policy)
    assert message.endswith(": took longer than 0.5 s")
    assert time.monotonic() - started < 3


def test_a_closed_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    message = refused(f"http://127.0.0.1:{port}/a", tmp_path / "a", LOOPBACK)
    assert message.endswith(": could not connect to 127.0.0.1")


@pytest.mark.parametrize(
    ("path", "reason"),
    [("/missing", "the server answered HTTP 404"), ("/empty", "the file is empty")],
)
def test_bad_answers(server: Server, tmp_path: Path, path: str, reason: str) -> None:
    message = refused(server.url(path), tmp_path / "a", LOOPBACK)
    assert message == f"{LABEL}: could not fetch {server.url(path)}: {reason}"


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/a.png", "file:///etc/passwd", "gopher://x/", "javascript:alert(1)"],
)
def test_only_http_and_https(tmp_path: Path, url: str) -> None:
    message = refused(url, tmp_path / "a", FetchPolicy())
    assert message == f"{LABEL}: could not fetch {url}: only http and https URLs are supported"


def test_async_twin(server: Server, tmp_path: Path) -> None:
    server.files["/a.png"] = DATA
    out = asyncio.run(
        afetch_input(server.url("/a.png"), tmp_path / "a", max_bytes=1 << 20, policy=LOOPBACK)
    )
    assert out.read_bytes() == DATA


# --- Base64 and data: URIs


def test_base64_without_prefix(tmp_path: Path) -> None:
    text = base64.b64encode(DATA).decode()
    out = fetch_input(text, tmp_path / "a", max_bytes=len(DATA), policy=FetchPolicy())
    assert out.read_bytes() == DATA


def test_base64_with_line_breaks_and_urlsafe_alphabet(tmp_path: Path) -> None:
    wrapped = base64.encodebytes(DATA).decode()  # 76-column lines, as some tools write
    assert (
        fetch_input(wrapped, tmp_path / "a", max_bytes=1 << 20, policy=FetchPolicy()).read_bytes()
        == DATA
    )
    urlsafe = base64.urlsafe_b64encode(DATA).decode().rstrip("=")
    assert (
        fetch_input(urlsafe, tmp_path / "b", max_bytes=1 << 20, policy=FetchPolicy()).read_bytes()
        == DATA
    )


def test_data_uri(tmp_path: Path) -> None:
    uri = "data:image/png;base64," + base64.b64encode(DATA).decode()
    assert (
        fetch_input(uri, tmp_path / "a", max_bytes=1 << 20, policy=FetchPolicy()).read_bytes()
        == DATA
    )
    plain = "data:text/plain,hello%20world"
    assert (
        fetch_input(plain, tmp_path / "b", max_bytes=100, policy=FetchPolicy()).read_bytes()
        == b"hello world"
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("not base64 at all!", "is neither an http(s) URL nor valid Base64 data (it has spaces)"),
        ("not a url", "is neither an http(s) URL nor valid Base64 data (it has spaces)"),
        ("example.com/a.png", "is neither an http(s) URL nor valid Base64 data"),
        ("notaurl", "is neither an http(s) URL nor Base64 data of a file (it decodes to 5 bytes)"),
        ("data:image/png;base64", "the data: URI has no ','"),
        ("data:image/png;base64,@@@@", "is neither an http(s) URL nor valid Base64 data"),
        ("data:image/png;base64,", "the data is empty"),
    ],
)
def test_bad_inline_data(tmp_path: Path, value: str, reason: str) -> None:
    assert refused(value, tmp_path / "a", FetchPolicy()) == f"{LABEL}: {reason}"


def test_base64_over_the_cap_is_refused_before_decoding(tmp_path: Path) -> None:
    text = base64.b64encode(DATA).decode()
    assert refused(text, tmp_path / "a", FetchPolicy(), max_bytes=1000).endswith(
        ": the data is larger than 1000 bytes"
    )


# --- address classification and check_url


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("8.8.8.8", None),
        ("2001:4860:4860::8888", None),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("127.0.0.2", "loopback"),
        ("::1", "loopback"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("100.100.100.200", "metadata"),
        ("fd12::1", "private"),
        ("100.64.0.1", "non-public"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::a9fe:a9fe", "metadata"),
        ("2002:0a00:0001::", "private"),
    ],
)
def test_address_kind(address: str, kind: str | None) -> None:
    assert address_kind(ipaddress.ip_address(address)) == kind


def test_check_url_for_callbacks() -> None:
    check_url("http://127.0.0.1:9/cb", LOOPBACK, label="callback_url")
    with pytest.raises(OmniError) as info:
        check_url("http://127.0.0.1:9/cb", FetchPolicy(), label="callback_url")
    assert info.value.message == (
        "callback_url: http://127.0.0.1:9/cb is not allowed: host 127.0.0.1 is a loopback address"
    )
    with pytest.raises(OmniError, match="only http and https"):
        check_url("ftp://example.com/cb", FetchPolicy(), label="callback_url")


def test_a_refused_private_host_says_how_to_allow_it(tmp_path: Path) -> None:
    policy = FetchPolicy(how_to_allow="start with --allow-host {host}")
    message = refused("http://127.0.0.1:9/a.png", tmp_path / "a", policy)
    assert message.endswith(
        "host 127.0.0.1 is a loopback address; start with --allow-host 127.0.0.1"
    )
    named = replace(fake_dns({"cam.lan": ["10.0.0.7"]}), how_to_allow=policy.how_to_allow)
    message = refused("http://cam.lan/a.png", tmp_path / "a", named)
    assert message.endswith("10.0.0.7, a private address; start with --allow-host cam.lan")
    # Cloud metadata is never suggested for the allow-list.
    message = refused("http://169.254.169.254/", tmp_path / "a", policy)
    assert message.endswith("host 169.254.169.254 is a metadata address")
