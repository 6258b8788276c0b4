"""A client in its own process: for each of ROUNDS GETs of URL over one keep-alive
connection, how long after the wall-clock stamp on the body's first line that line
arrived (ms), with the headers a browser sends. Prints a JSON list.

    python bench/first_byte_client.py http://127.0.0.1:3000/stamp/x 200
"""

from __future__ import annotations

import http.client
import json
import sys
import time
from urllib.parse import urlsplit

from client import BROWSER_HEADERS


def main(url: str, rounds: int) -> None:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80)
    delays = []
    for _ in range(rounds):
        connection.request("GET", parts.path or "/", headers=BROWSER_HEADERS)
        response = connection.getresponse()
        line = response.readline()  # the first chunk, as soon as it arrives
        delays.append(time.time() * 1000 - float(line))
        response.read()
    print(json.dumps(delays))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
