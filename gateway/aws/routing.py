"""Where a request goes: the CloudFront Function SCF deploys, then the ALB.

Stage 1, CloudFront. Every container's ``routing.pathPattern`` is a key of
the KeyValueStore path table, in config order. For a request URI (path
only, no query):

1. a key equal to the URI matches;
2. otherwise keys are walked longest first (a stable sort: equal lengths
   keep config order); ``/*`` matches anything when the walk reaches it,
   a key ending in ``/*`` matches when the URI starts with the key minus
   its ``*`` (``/api/*`` matches ``/api/`` and ``/api/x``, never ``/api``),
   any other key matches only through step 1 (``*`` and ``?`` elsewhere are
   literal characters);
3. no match: the request stays on the default origin, the ALB.

Stage 2, ALB (requests whose key is a Fargate container's, or that matched
no key). Fargate containers' patterns are ALB path-pattern rules: ``*``
any run of characters including ``/``, ``?`` one character, whole path,
case-sensitive; more specific rules first. No rule: 404.

Domains. A request whose host (port dropped) is a container's
``routing.domain``, or that domain followed by ``.localhost``, sees only
that domain's containers and those without a domain (the domain's own
first); any other host (``localhost``, ``127.0.0.1``) sees every container
(those without a domain first).

    >>> cloudfront_match("/api/users", ["/*", "/api/*"])
    '/api/*'
    >>> cloudfront_match("/api", ["/*", "/api/*"])
    '/*'
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from gateway.config import Config

OriginType = Literal["lambda", "alb"]
DECISIONS_KEPT = 4096
"""Routing decisions a Router keeps (per host and path) before it starts over."""
ComputeType = Literal["awsLambda", "awsFargateEcs"]


# --- stage 1: the CloudFront Function ------------------------------------


def cloudfront_match(uri: str, keys: Sequence[str]) -> str | None:
    """The KVS key the CloudFront Function selects for ``uri``, or None."""
    return _walk(uri, keys, walk_order(keys))


def walk_order(keys: Iterable[str]) -> tuple[str, ...]:
    """Keys longest first; ``sorted`` is stable, so equal lengths keep their order."""
    return tuple(sorted(keys, key=len, reverse=True))


def _walk(uri: str, keys: Container[str], order: Sequence[str]) -> str | None:
    if uri in keys:
        return uri
    for key in order:
        if key == "/*":
            return key
        if key.endswith("/*") and uri.startswith(key[:-1]):
            return key
    return None


def cloudfront_prefix_usable(pattern: str) -> bool:
    """True when the CloudFront Function can match ``pattern`` as written:
    an exact path (no wildcard), or a prefix ``.../*`` with no other wildcard."""
    body = pattern[:-2] if pattern.endswith("/*") else pattern
    return "*" not in body and "?" not in body


# --- stage 2: ALB path-pattern rules -------------------------------------


@lru_cache(maxsize=1024)
def _alb_regex(pattern: str) -> re.Pattern[str]:
    parts = (".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.S)


def alb_matches(pattern: str, path: str) -> bool:
    """ALB path-pattern semantics: whole path, case-sensitive, ``*`` and ``?``."""
    return _alb_regex(pattern).fullmatch(path) is not None


def alb_specificity(pattern: str) -> tuple[int, int, int]:
    """Sort key, most specific first: exact paths, then longer literal
    prefixes, then more literal characters."""
    wild = re.search(r"[*?]", pattern)
    prefix = wild.start() if wild else len(pattern)
    literal = len(pattern) - pattern.count("*") - pattern.count("?")
    return (1 if wild else 0, -prefix, -literal)


# --- the table -------------------------------------------------------------


@dataclass(frozen=True)
class RouteEntry:
    """One container's line in the KVS path table."""

    pattern: str
    container: str
    compute_type: ComputeType
    origin_id: str
    domain: str | None = None
    run: str = ""
    """How the container runs, for display."""

    @property
    def origin_type(self) -> OriginType:
        return "lambda" if self.compute_type == "awsLambda" else "alb"


@dataclass(frozen=True)
class RouteDecision:
    uri: str
    pattern: str | None
    """The KVS key the CloudFront Function chose (None: no key matched)."""
    origin_id: str | None
    origin_type: OriginType | None
    alb_rule: str | None
    """The ALB path-pattern that then matched, if the request went to the ALB."""
    container: str | None
    """Where the request finally goes (None: 404)."""
    host: str = "localhost"

    def to_json(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "pattern": self.pattern,
            "originId": self.origin_id,
            "originType": self.origin_type,
            "albRule": self.alb_rule,
            "container": self.container,
        }


@dataclass(frozen=True)
class RouteWarning:
    container: str
    pattern: str
    message: str

    def __str__(self) -> str:
        return f"{self.container} {self.pattern}: {self.message}"


def host_name(host: str | None) -> str:
    """``Host`` header value -> lower-case name without port."""
    if not host:
        return "localhost"
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


@dataclass(frozen=True)
class _View:
    """What requests for one host see, computed once per domain."""

    entries: tuple[RouteEntry, ...]
    paths: dict[str, RouteEntry]
    order: tuple[str, ...]
    alb_rules: tuple[RouteEntry, ...]

    @classmethod
    def of(cls, entries: tuple[RouteEntry, ...]) -> _View:
        paths: dict[str, RouteEntry] = {}
        for entry in entries:
            paths.setdefault(entry.pattern, entry)
        fargate = [e for e in entries if e.compute_type == "awsFargateEcs"]

        def priority(indexed: tuple[int, RouteEntry]) -> tuple[int, ...]:
            index, entry = indexed
            return (*alb_specificity(entry.pattern), 0 if entry.domain else 1, index)

        rules = tuple(e for _, e in sorted(enumerate(fargate), key=priority))
        return cls(entries, paths, walk_order(paths), rules)


class Router:
    """The KVS table plus ALB rules of one configuration. Immutable: a config
    change builds a new Router and swaps it in, like a KVS update."""

    def __init__(self, entries: Iterable[RouteEntry], alb_origin_id: str) -> None:
        self.entries: tuple[RouteEntry, ...] = tuple(entries)
        self.alb_origin_id = alb_origin_id
        self.domains = frozenset(e.domain for e in self.entries if e.domain)
        plain = (*(e for e in self.entries if e.domain is None), *(e for e in self.entries if e.domain))
        self._decided: dict[tuple[str | None, str], RouteDecision] = {}
        self._views: dict[str | None, _View] = {None: _View.of(plain)}
        for domain in self.domains:
            own = [e for e in self.entries if e.domain == domain]
            self._views[domain] = _View.of((*own, *(e for e in self.entries if e.domain is None)))

    @classmethod
    def from_config(cls, config: Config) -> Router:
        return cls(
            (
                RouteEntry(
                    pattern=c.routing.path_pattern,
                    container=c.name,
                    compute_type=c.compute_type,
                    origin_id=config.origin_id(c),
                    domain=c.routing.domain,
                    run=c.run.describe(),
                )
                for c in config.containers
            ),
            config.alb_origin_id,
        )

    def domain_for(self, host: str | None) -> str | None:
        name = host_name(host)
        for domain in self.domains:
            if name in (domain, f"{domain}.localhost"):
                return domain
        return None

    def _view(self, host: str | None) -> _View:
        return self._views[self.domain_for(host)]

    def view(self, host: str | None) -> tuple[RouteEntry, ...]:
        """The containers a request to ``host`` can reach: its domain's first, then
        those without a domain; plain localhost sees all (domainless first)."""
        return self._view(host).entries

    def kvs_paths(self, host: str | None = None) -> dict[str, RouteEntry]:
        """The KVS ``paths`` object a request to ``host`` is matched against."""
        return dict(self._view(host).paths)

    def alb_rules(self, host: str | None = None) -> list[RouteEntry]:
        """Fargate containers' ALB rules, most specific first."""
        return list(self._view(host).alb_rules)

    def route(self, uri: str, host: str | None = None) -> RouteDecision:
        path = uri.split("?", 1)[0].split("#", 1)[0] or "/"
        view = self._view(host)
        key = _walk(path, view.paths, view.order)
        entry = view.paths.get(key) if key is not None else None
        shown_host = host_name(host)
        if entry is not None and entry.origin_type == "lambda":
            return RouteDecision(uri, key, entry.origin_id, "lambda", None, entry.container, shown_host)
        origin_id = entry.origin_id if entry else None
        origin_type: OriginType | None = "alb" if entry else None
        for rule in view.alb_rules:
            if alb_matches(rule.pattern, path):
                return RouteDecision(
                    uri, key, origin_id, origin_type, rule.pattern, rule.container, shown_host
                )
        return RouteDecision(uri, key, origin_id, origin_type, None, None, shown_host)

    def route_request(self, target: str, host: str | None) -> RouteDecision:
        """:meth:`route` for the engine: the decision for a request target (its query aside),
        kept per host and path, so that a path seen before costs one lookup. The table is
        immutable, so a kept decision never goes stale; at most :data:`DECISIONS_KEPT` are kept."""
        key = (host, target.partition("?")[0])
        decided = self._decided.get(key)
        if decided is None:
            if len(self._decided) >= DECISIONS_KEPT:
                self._decided.clear()
            decided = self._decided[key] = self.route(key[1], host)
        return decided

    def table(self, host: str | None = None) -> list[RouteEntry]:
        """Entries in the order the CloudFront Function walks them."""
        return sorted(self.view(host), key=lambda e: len(e.pattern), reverse=True)

    def warnings(self) -> list[RouteWarning]:
        """Patterns that cannot work as their author probably meant."""
        out: list[RouteWarning] = []
        for entry in self.entries:
            host = entry.domain or "localhost"
            sample = _sample_path(entry.pattern)
            decision = self.route(sample, host)
            reached = decision.container == entry.container and entry.pattern in (
                decision.pattern,
                decision.alb_rule,
            )
            elsewhere = f"'{sample}' goes to {decision.container or 'nothing (404)'}"
            if not cloudfront_prefix_usable(entry.pattern):
                msg = (
                    "has a '*' or '?' that is not a trailing '/*'; the CloudFront Function matches it only "
                    f"as the literal path '{entry.pattern}', never as a prefix"
                )
                if entry.compute_type == "awsFargateEcs":
                    msg += " (the ALB treats it as a wildcard, but only for requests that reach the ALB)"
                if not reached:
                    msg += f"; {elsewhere}"
                out.append(RouteWarning(entry.container, entry.pattern, msg))
            elif not reached:
                out.append(
                    RouteWarning(
                        entry.container, entry.pattern, f"is shadowed by another pattern: {elsewhere}"
                    )
                )
        return out


def _sample_path(pattern: str) -> str:
    """A path the author of ``pattern`` surely meant it to match."""
    return pattern.replace("*", "x").replace("?", "x")


def split_url(uri: str, host: str | None = None) -> tuple[str, str | None]:
    """``/path?q`` or ``http://host/path?q`` as (path with query, host); ``host`` wins when given.
    ValueError when the path does not start with ``/``."""
    path = uri
    if "://" in uri:
        parts = urlsplit(uri)
        host = host or parts.netloc
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not path.startswith("/"):
        raise ValueError(f"URI '{uri}' must start with '/' (or be a full http:// URL)")
    return path, host
