"""Cost of routing one request: Router.route() vs the bare CloudFront match.

    python bench/routing.py [N]

Prints microseconds per call for both, measured side by side in one run,
on config.example.yml's table and on a 50-container table.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from gateway.aws.routing import RouteEntry, Router, cloudfront_match
from gateway.config import load_config

URIS = ["/", "/api/users/42?x=1", "/docs/intro", "/api", "/static/app.js", "/api/v1/orders"]


def per_call_us(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for i in range(n):
        fn(URIS[i % len(URIS)])
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    root = Path(__file__).resolve().parent.parent
    example = Router.from_config(load_config(root / "config.example.yml", environ={}))
    big = Router(
        [RouteEntry(f"/svc{i}/*", f"c{i}", "awsFargateEcs" if i % 2 else "awsLambda", "o") for i in range(49)]
        + [RouteEntry("/*", "web", "awsLambda", "o")],
        "alb",
    )
    for name, router in (("config.example.yml (3 routes)", example), ("50 routes", big)):
        keys = list(router.kvs_paths())
        full = per_call_us(router.route, n)
        bare = per_call_us(lambda uri, keys=keys: cloudfront_match(uri.split("?")[0], keys), n)
        print(
            f"{name:32} Router.route {full:6.2f} us/call   cloudfront_match {bare:6.2f} us/call   "
            f"ratio {full / bare:4.1f}x"
        )


if __name__ == "__main__":
    main()
