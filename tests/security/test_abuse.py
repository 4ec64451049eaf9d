"""Abuse limits: per-client rates on pages and on short links, the storage quota, and who a
client is behind a proxy. Every limit answers with a status and a sentence that says what to
do, and every one comes from an environment variable."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from app.main import create_app
from app.ratelimit import MAX_CLIENTS, TokenBuckets, client_key
from app.settings import Rate, SettingError, get_settings
from app.state import encode
from model.explore.configs import CONFIG_PRESETS
from tests.security.asgi import call

FORM = [(b"content-type", b"application/x-www-form-urlencoded")]
HTMX = [(b"hx-request", b"true")]
QUERY = encode(CONFIG_PRESETS["4k-52-lpa2"])


@pytest.fixture
def limited(monkeypatch, tmp_path):
    """An app built with the limits the test sets (the suite turns them off elsewhere)."""

    def build(**env: str):
        monkeypatch.setenv("LPA2_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("LPA2_RATE_LIMITS", "on")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return create_app()

    return build


def test_defaults_are_on_and_safe_for_a_public_instance(monkeypatch):
    for name in ("LPA2_RATE_LIMITS", "LPA2_RATE_PAGES", "LPA2_RATE_SHORT_LINKS",
                 "LPA2_LINKS_MAX_BYTES", "LPA2_TRUSTED_PROXIES", "LPA2_ALLOWED_HOSTS"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    settings = get_settings()
    assert settings.rate_limits
    assert settings.rate_pages == Rate(600, 60) and settings.rate_short_links == Rate(20, 60)
    assert settings.links_max_bytes == 1 << 30
    assert settings.trusted_proxies == ()  # forwarded headers believed from nobody


def test_page_rate(limited):
    app = limited(LPA2_RATE_PAGES="5/60")
    for _ in range(5):
        assert call(app, "GET", "/walk.txt", query=QUERY.encode()).status == 200
    over = call(app, "GET", "/", query=QUERY.encode())
    assert over.status == 429
    assert "Too many requests from your address" in over.text and "5 every 60 s" in over.text
    assert 1 <= int(over.header("retry-after")) <= 12
    assert over.header("content-security-policy")  # the usual headers, like every answer
    # static files and the health checks are not counted
    for path in ("/healthz", "/readyz", "/static/css/app.css"):
        assert call(app, "GET", path).status in (200, 503), path
    # another client has its own bucket
    other = call(app, "GET", "/walk.txt", query=QUERY.encode(), client=("192.0.2.7", 1234))
    assert other.status == 200


def test_an_ipv6_client_is_its_slash_64():
    assert client_key({"client": ("2001:db8:1:2:aaaa::1", 1)}) == "2001:db8:1:2::/64"
    assert client_key({"client": ("2001:db8:1:2:ffff::9", 1)}) == "2001:db8:1:2::/64"
    assert client_key({"client": ("2001:db8:1:3::1", 1)}) == "2001:db8:1:3::/64"
    assert client_key({"client": ("::ffff:192.0.2.1", 1)}) == "192.0.2.1"
    assert client_key({"client": ("192.0.2.1", 1)}) == "192.0.2.1"
    assert client_key({"client": None}) == "unknown"


def test_short_link_rate_says_when_to_try_again(limited):
    app = limited(LPA2_RATE_SHORT_LINKS="2/60")
    for n in range(2):
        body = urlencode({"query": f"{QUERY}&va={0x1000 * (n + 1):#x}"}).encode()
        assert call(app, "POST", "/s", headers=FORM, body=body).status == 303
    body = urlencode({"query": f"{QUERY}&va=0x7000"}).encode()
    page = call(app, "POST", "/s", headers=FORM, body=body)
    assert page.status == 429 and 1 <= int(page.header("retry-after")) <= 31
    assert "Too many short links from your address: try again in" in page.text
    slot = call(app, "POST", "/s", headers=FORM + HTMX, body=body)
    assert slot.status == 429 and 'id="share-short"' in slot.text
    assert "Too many short links" in slot.text and "The full link works without it." in slot.text
    # pages are not short links: still served
    assert call(app, "GET", "/", query=QUERY.encode()).status == 200


def test_storage_quota_answers_507(limited):
    app = limited(LPA2_LINKS_MAX_BYTES="1")
    body = urlencode({"query": QUERY}).encode()
    page = call(app, "POST", "/s", headers=FORM, body=body)
    assert page.status == 507, page.text[:300]
    assert "Short links are unavailable: the store is full (it holds its quota of 1 bytes" in (
        page.text
    )
    slot = call(app, "POST", "/s", headers=FORM + HTMX, body=body)
    assert slot.status == 507 and "quota" in slot.text
    assert call(app, "GET", "/", query=QUERY.encode()).status == 200


def test_forwarded_for_is_believed_only_from_trusted_proxies(limited):
    app = limited(LPA2_RATE_PAGES="2/60", LPA2_TRUSTED_PROXIES="10.0.0.0/8")

    def get(peer: str, forwarded: str | None) -> int:
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
        return call(app, "GET", "/walk.txt", query=QUERY.encode(), headers=headers,
                    client=(peer, 4000)).status  # fmt: skip

    # through the proxy, each client has its own bucket
    assert [get("10.1.2.3", "203.0.113.9") for _ in range(3)] == [200, 200, 429]
    assert get("10.1.2.3", "203.0.113.10") == 200
    # a client that is not a proxy cannot name another address per request
    spoofed = [get("198.51.100.7", f"203.0.113.{n}") for n in range(3)]
    assert spoofed == [200, 200, 429]


def test_token_buckets_refill_and_stay_bounded():
    buckets = TokenBuckets(Rate(3, 30), max_clients=100)
    assert [buckets.take("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a", now=0.0) == pytest.approx(10.0)  # one token per 10 s
    assert buckets.take("a", now=10.0) == 0.0
    assert buckets.take("a", now=10.0) == pytest.approx(10.0)
    for n in range(1000):
        buckets.take(f"client-{n}", now=20.0)
    assert len(buckets) == 100  # the least recently seen are forgotten
    assert MAX_CLIENTS >= 10_000


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LPA2_RATE_PAGES", "lots"),
        ("LPA2_RATE_SHORT_LINKS", "0/60x"),
        ("LPA2_LINKS_MAX_BYTES", "big"),
        ("LPA2_RATE_LIMITS", "maybe"),
        ("LPA2_DATABASE_URL", "mysql://x"),
        ("LPA2_DATABASE_POOL_SIZE", "0"),
    ],
)
def test_bad_settings_are_refused_with_the_variable_named(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingError, match=name):
        get_settings()
