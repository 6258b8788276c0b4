"""ALB path-pattern rules for Fargate containers (wire-spec §6.7, case 24)."""

from __future__ import annotations

import fnmatch

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.aws.routing import alb_matches, alb_specificity


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/api/*", "/api/x", True),
        ("/api/*", "/api/x/y/z", True),  # '*' spans '/'
        ("/api/*", "/api", False),  # no trailing slash
        ("/API/*", "/api/x", False),  # case-sensitive
        ("/img/???.png", "/img/abc.png", True),
        ("/img/???.png", "/img/abcd.png", False),
        ("/profile/202?", "/profile/2021", True),
        ("/assets/*/images/*", "/assets/v1/images/logo.png", True),
        ("/images/logo.png", "/images/logo.png", True),
        ("/images/logo.png", "/images/logo.pngx", False),  # whole path
        ("/*", "/", True),
        ("/a.c", "/abc", False),  # '.' is literal
        ("/a+b", "/a+b", True),
    ],
)
def test_alb_path_pattern(pattern: str, path: str, matches: bool) -> None:
    assert alb_matches(pattern, path) is matches


def test_more_specific_patterns_sort_first() -> None:
    patterns = ["/*", "/api/*", "/api/v1/*", "/api/health", "/a*", "/api/*/x"]
    ordered = sorted(patterns, key=alb_specificity)
    assert ordered == ["/api/health", "/api/v1/*", "/api/*/x", "/api/*", "/a*", "/*"]


alphabet = "/ab.*?+"


@given(
    pattern=st.text(alphabet=alphabet, max_size=6).map(lambda s: "/" + s),
    path=st.text(alphabet="/ab.+", max_size=8).map(lambda s: "/" + s),
)
def test_alb_matcher_equals_glob_reading(pattern: str, path: str) -> None:
    # fnmatchcase is a glob with the same '*' and '?' (no '[' in the alphabet)
    assert alb_matches(pattern, path) is fnmatch.fnmatchcase(path, pattern)
