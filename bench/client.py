"""A benchmark client in its own process: interleaved requests over keep-alive connections.

    echo '{"gateway": ["GET", "http://127.0.0.1:3000/x", ""], "direct": [...]}' | python bench/client.py 400

For each round it sends one request to every target in turn, each target on
its own persistent connection (http.client), with the headers a browser sends,
and prints the latencies in ms as JSON. The first tenth of the rounds warms up and is left out.
"""

from __future__ import annotations

import http.client
import json
import sys
import time
from urllib.parse import urlsplit

BROWSER_HEADERS = {  # what Chrome sends with a fetch() from a page on localhost
    "sec-ch-ua": '"Chromium";v="131", "Not_A Brand";v="24"',
    "sec-ch-ua-mobile": "?0",
    "sec-ch-ua-platform": '"Linux"',
    "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "accept": "*/*",
    "sec-fetch-site": "same-origin",
    "sec-fetch-mode": "cors",
    "sec-fetch-dest": "empty",
    "referer": "http://localhost:3000/",
    "accept-encoding": "gzip, deflate, br, zstd",
    "accept-language": "en-US,en;q=0.9",
    "cookie": "session=abc123; theme=dark",
}


def main() -> None:
    rounds = int(sys.argv[1])
    spec = json.loads(sys.stdin.read())
    connections = {}
    for name, (_, url, _) in spec.items():
        parts = urlsplit(url)
        connections[name] = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    times: dict[str, list[float]] = {name: [] for name in spec}
    warm = rounds // 10
    for n in range(rounds + warm):
        for name, (method, url, body) in spec.items():
            parts = urlsplit(url)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            data = body.encode("latin-1") if body else None
            headers = {**BROWSER_HEADERS, **({"content-type": "application/json"} if data else {})}
            conn = connections[name]
            started = time.perf_counter()
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            response.read()
            took = (time.perf_counter() - started) * 1000
            if response.status >= 500:
                raise SystemExit(f"{name}: {method} {url} answered {response.status}")
            if n >= warm:
                times[name].append(took)
    print(json.dumps(times))


if __name__ == "__main__":
    main()
