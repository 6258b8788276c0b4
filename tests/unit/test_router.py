"""A request's whole journey: CloudFront key, origin, ALB rule, container."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.aws.routing import RouteEntry, Router, cloudfront_match, host_name


def lam(pattern: str, name: str, domain: str | None = None) -> RouteEntry:
    return RouteEntry(pattern, name, "awsLambda", f"app-dev-lambda-{name}-origin", domain)


def far(pattern: str, name: str, domain: str | None = None) -> RouteEntry:
    return RouteEntry(pattern, name, "awsFargateEcs", "app-dev-alb-origin", domain)


MIXED = Router([lam("/*", "web"), far("/api/*", "api"), far("/api/admin/*", "admin")], "app-dev-alb-origin")


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            "/",
            {
                "pattern": "/*",
                "originId": "app-dev-lambda-web-origin",
                "originType": "lambda",
                "albRule": None,
                "container": "web",
            },
        ),
        (
            "/api/x?q=/api/admin/y",
            {
                "pattern": "/api/*",
                "originId": "app-dev-alb-origin",
                "originType": "alb",
                "albRule": "/api/*",
                "container": "api",
            },
        ),
        (
            "/api/admin/users",
            {
                "pattern": "/api/admin/*",
                "originId": "app-dev-alb-origin",
                "originType": "alb",
                "albRule": "/api/admin/*",
                "container": "admin",
            },
        ),
        (
            "/api",
            {
                "pattern": "/*",
                "originId": "app-dev-lambda-web-origin",
                "originType": "lambda",
                "albRule": None,
                "container": "web",
            },
        ),
    ],
)
def test_mixed_app_routes(uri: str, expected: dict[str, object]) -> None:
    assert MIXED.route(uri).to_json() == {"uri": uri, **expected}


def test_no_key_goes_to_the_alb_and_404s_without_a_rule() -> None:
    router = Router([lam("/app/*", "web")], "app-dev-alb-origin")
    assert router.route("/other").to_json() == {
        "uri": "/other",
        "pattern": None,
        "originId": None,
        "originType": None,
        "albRule": None,
        "container": None,
    }


def test_no_key_but_an_alb_rule_reaches_fargate() -> None:
    # /api* is an exact-only KVS key, but the ALB treats it as a wildcard
    router = Router([lam("/app/*", "web"), far("/api*", "api")], "app-dev-alb-origin")
    decision = router.route("/api/v2")
    assert (decision.pattern, decision.alb_rule, decision.container) == (None, "/api*", "api")


def test_alb_rule_can_differ_from_the_kvs_key() -> None:
    # CloudFront picks the Fargate key /api/*, then the ALB's most specific rule wins
    router = Router([far("/api/*", "api"), far("/api/v?/*", "versioned")], "app-dev-alb-origin")
    decision = router.route("/api/v2/x")
    assert (decision.pattern, decision.alb_rule, decision.container) == ("/api/*", "/api/v?/*", "versioned")


DOMAINS = Router(
    [lam("/*", "site", "example.com"), far("/*", "api", "api.example.com"), lam("/docs/*", "docs")],
    "app-dev-alb-origin",
)


@pytest.mark.parametrize(
    ("host", "uri", "container"),
    [
        ("api.example.com", "/users", "api"),
        ("api.example.com.localhost:3000", "/users", "api"),
        ("API.Example.com:443", "/users", "api"),
        ("example.com", "/users", "site"),
        ("example.com.localhost", "/", "site"),
        ("api.example.com", "/docs/x", "docs"),  # containers without a domain serve every host
        ("localhost:3000", "/docs/x", "docs"),
        ("localhost:3000", "/", "site"),  # plain localhost sees all; first /* in config order
        ("127.0.0.1", "/users", "site"),
    ],
)
def test_domains(host: str, uri: str, container: str) -> None:
    assert DOMAINS.route(uri, host).container == container


def test_domain_containers_are_invisible_to_other_domains() -> None:
    router = Router([far("/*", "api", "api.example.com"), lam("/x/*", "x", "example.com")], "alb")
    assert router.route("/y", "example.com").container is None
    assert router.route("/x/1", "api.example.com").container == "api"
    assert router.route("/y", "api.example.com").container == "api"


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        (None, "localhost"),
        ("localhost:3000", "localhost"),
        ("Example.COM", "example.com"),
        ("[::1]:3000", "[::1]"),
        ("127.0.0.1:80", "127.0.0.1"),
    ],
)
def test_host_name(raw: str | None, name: str) -> None:
    assert host_name(raw) == name


def test_table_is_in_match_order() -> None:
    router = Router(
        [lam("/*", "web"), far("/api/*", "api"), lam("/health", "h"), far("/api/v1/*", "v1")], "alb"
    )
    assert [e.pattern for e in router.table()] == ["/api/v1/*", "/health", "/api/*", "/*"]


def test_warnings_name_unusable_wildcards_and_shadowed_patterns() -> None:
    router = Router([lam("/*", "web"), far("/api*", "api"), lam("/a/*/b", "ab"), far("/ok/*", "ok")], "alb")
    warnings = {w.container: w.message for w in router.warnings()}
    assert set(warnings) == {"api", "ab"}
    assert "never as a prefix" in warnings["api"] and "'/apix' goes to web" in warnings["api"]
    assert "never as a prefix" in warnings["ab"]


def test_shadowed_pattern_is_reported() -> None:
    # a Fargate exact path that a more specific ALB rule takes over
    router = Router([far("/api/*", "api"), far("/api/*x", "other")], "alb")
    warnings = {w.container: w.message for w in router.warnings()}
    assert "shadowed" in warnings.get("api", "") or "never as a prefix" in warnings.get("other", "")


paths = st.text(alphabet="/ab*", max_size=6).map(lambda s: "/" + s)


@given(
    patterns=st.lists(
        st.one_of(paths, paths.map(lambda p: p.rstrip("/*") + "/*")), unique=True, min_size=1, max_size=6
    ),
    uri=paths,
)
def test_route_agrees_with_the_cloudfront_function(patterns: list[str], uri: str) -> None:
    router = Router([lam(p, f"c{i}") for i, p in enumerate(patterns)], "alb")
    decision = router.route(uri)
    assert decision.pattern == cloudfront_match(uri, patterns)
    if decision.pattern is not None:
        assert decision.container == f"c{patterns.index(decision.pattern)}"
