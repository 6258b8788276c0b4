"""The CloudFront Function's path matching, rule by rule (scf-routing.md)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.aws.routing import cloudfront_match, cloudfront_prefix_usable


@pytest.mark.parametrize(
    ("uri", "keys", "expected"),
    [
        # 1. exact match wins, even over a longer prefix
        ("/api/users", ["/api/*", "/api/users"], "/api/users"),
        ("/api/users", ["/api/users/*", "/api/users"], "/api/users"),
        ("/", ["/*", "/"], "/"),
        # 2./3. prefixes longest first
        ("/api/v1/x", ["/api/*", "/api/v1/*"], "/api/v1/*"),
        ("/api/v2/x", ["/api/*", "/api/v1/*"], "/api/*"),
        # /api/* matches /api/ and /api/x but not /api
        ("/api/", ["/api/*"], "/api/*"),
        ("/api/x", ["/api/*"], "/api/*"),
        ("/api", ["/api/*"], None),
        ("/api", ["/api/*", "/*"], "/*"),
        ("/apix", ["/api/*"], None),
        # /* matches anything, but only when the walk reaches it
        ("/anything/at/all", ["/*"], "/*"),
        ("/x", ["/*", "/x/*"], "/*"),
        ("/x/y", ["/*", "/x/*"], "/x/*"),
        # stable: equal lengths keep the written order
        ("/ab/x", ["/ab/*", "/a*/*"], "/ab/*"),
        # a key that is not '/*' and not '.../*' matches only exactly
        ("/apiv2", ["/api*"], None),
        ("/api*", ["/api*"], "/api*"),
        ("/a/x/b", ["/a/*/b"], None),
        ("/a/*/b", ["/a/*/b"], "/a/*/b"),
        ("/img/abc.png", ["/img/???.png"], None),
        # '*' in the middle of a prefix key is a literal character
        ("/a/x/b/c", ["/a/*/b/*"], None),
        ("/a/*/b/c", ["/a/*/b/*"], "/a/*/b/*"),
        # case-sensitive
        ("/API/x", ["/api/*"], None),
        # no keys, no match
        ("/", [], None),
    ],
)
def test_cloudfront_match(uri: str, keys: list[str], expected: str | None) -> None:
    assert cloudfront_match(uri, keys) == expected


@pytest.mark.parametrize(
    ("pattern", "usable"),
    [
        ("/*", True),
        ("/api/*", True),
        ("/health", True),
        ("/api*", False),
        ("/a/*/b", False),
        ("/a/*/b/*", False),
        ("/p/202?", False),
    ],
)
def test_prefix_usable(pattern: str, usable: bool) -> None:
    assert cloudfront_prefix_usable(pattern) is usable


def reference_match(uri: str, keys: list[str]) -> str | None:
    """A second, straightforward reading of the rules: an exact key, else
    the longest key that is '/*' or a '/*' prefix of the URI, ties to the
    first written."""
    if uri in keys:
        return uri
    candidates = [
        (len(k), -i, k)
        for i, k in enumerate(keys)
        if k == "/*" or (k.endswith("/*") and uri.startswith(k[:-1]))
    ]
    return max(candidates)[2] if candidates else None


paths = st.text(alphabet="/ab*?", max_size=7).map(lambda s: "/" + s)
keys = st.lists(
    st.one_of(paths, paths.map(lambda p: p.rstrip("/*") + "/*"), st.just("/*")), unique=True, max_size=8
)


@given(uri=paths, keys=keys)
def test_matcher_equals_reference_reading(uri: str, keys: list[str]) -> None:
    assert cloudfront_match(uri, keys) == reference_match(uri, keys)


@given(uri=paths, keys=keys)
def test_order_of_distinct_lengths_does_not_matter(uri: str, keys: list[str]) -> None:
    by_length: dict[int, str] = {}
    for k in keys:
        by_length.setdefault(len(k), k)
    distinct = list(by_length.values())
    assert cloudfront_match(uri, distinct) == cloudfront_match(uri, list(reversed(distinct)))
