from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from omnivideo.storage.local import BadKey, LocalStorage


def test_signed_url_round_trip_and_expiry(tmp_path: Path) -> None:
    storage = LocalStorage.open(tmp_path)
    url = storage.signed_url("http://h", "outputs/1/a.mp4", ttl_s=60, now=1000)
    query = parse_qs(urlparse(url).query)
    expires, sig = int(query["expires"][0]), query["sig"][0]
    assert urlparse(url).path == "/files/outputs/1/a.mp4"
    assert storage.verify("outputs/1/a.mp4", expires, sig, now=1059)
    assert not storage.verify("outputs/1/a.mp4", expires, sig, now=1061)
    assert not storage.verify("outputs/1/b.mp4", expires, sig, now=1000)
    assert not storage.verify("outputs/1/a.mp4", expires + 3600, sig, now=1000)


def test_the_secret_survives_reopening(tmp_path: Path) -> None:
    a = LocalStorage.open(tmp_path).sign("k", 1)
    assert LocalStorage.open(tmp_path).sign("k", 1) == a


@pytest.mark.parametrize("key", ["../x", "a/../../x", "/etc/passwd", "a//b", "", "a\\..\\b", "./a"])
def test_keys_cannot_leave_the_root(tmp_path: Path, key: str) -> None:
    with pytest.raises(BadKey):
        LocalStorage.open(tmp_path).path_for(key)


def test_own_urls_resolve_to_files_also_behind_a_path_prefix(tmp_path: Path) -> None:
    storage = LocalStorage.open(tmp_path)
    source = tmp_path / "x.mp4"
    source.write_bytes(b"data")
    stored = storage.put_file("outputs/1/x.mp4", source)
    for base in ("http://h:8000", "https://example.com/omni"):
        url = storage.signed_url(base, "outputs/1/x.mp4", ttl_s=60)
        assert storage.resolve_url(url, base) == stored
        assert storage.resolve_url(url.replace("sig=", "sig=0"), base) is None
        assert storage.resolve_url(url, "http://elsewhere") is None
