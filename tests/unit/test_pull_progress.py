"""Pull progress as the engine streams it, summed over layers (what `up` shows while pulling)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from runners.docker.backend import DockerBackend

EVENTS = [
    {"status": "Pulling from library/node", "id": "22"},
    {"status": "Pulling fs layer", "id": "a"},
    {"status": "Pulling fs layer", "id": "b"},
    {"status": "Downloading", "id": "a", "progressDetail": {"current": 1_000_000, "total": 4_000_000}},
    {"status": "Downloading", "id": "b", "progressDetail": {"current": 500_000, "total": 1_000_000}},
    {"status": "Download complete", "id": "b"},
    {"status": "Downloading", "id": "a", "progressDetail": {"current": 4_000_000, "total": 4_000_000}},
    {"status": "Pull complete", "id": "b"},
    {"status": "Pull complete", "id": "a"},
    {"status": "Digest: sha256:abc"},
    {"status": "Status: Downloaded newer image for node:22"},
]


async def test_pull_progress_sums_the_layers() -> None:
    def pull(repository: str, tag: str, stream: bool, decode: bool) -> Any:
        assert (repository, tag) == ("node", "22")
        return iter(EVENTS)

    backend = DockerBackend(client=SimpleNamespace(api=SimpleNamespace(pull=pull)))
    lines: list[str] = []
    await backend.pull("node:22", lines.append)
    assert "1/2 layers, 5.0/5.0 MB" in lines
    assert lines[-1] == "Status: Downloaded newer image for node:22"
    assert lines[-3] == "2/2 layers, 5.0/5.0 MB"
