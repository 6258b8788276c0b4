"""Which of scf-local's files one request passes through, on a Fargate route and a Lambda route.

    SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY=scf-local-standin SCF_LOCAL_NODE_IMAGE=scf-local-standin/node:22 \\
        python bench/request_files.py

``up`` of the bundled example (``examples/mixed``) in this process; once both routes answered
a few times (warm), one more request to each is made with a profiler on every thread that
records the files of gateway/ and runners/ whose code ran while it was in flight. A newcomer
reading how a request is served reads these files. Prints the count and the files per route.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.config import load_config  # noqa: E402
from gateway.logs import Console  # noqa: E402
from gateway.up.supervisor import Supervisor  # noqa: E402

OURS = (str(ROOT / "gateway"), str(ROOT / "runners"))


def recorder(seen: set[str]) -> Any:
    def profile(frame: FrameType, event: str, arg: object) -> None:
        name = frame.f_code.co_filename
        if event == "call" and name.startswith(OURS):
            seen.add(str(Path(name).relative_to(ROOT)))

    return profile


async def files_of_one_request(http: aiohttp.ClientSession, path: str) -> set[str]:
    for _ in range(5):  # warm: the environment, the idle connections, the caches
        async with http.get(path) as response:
            await response.read()
    seen: set[str] = set()
    profile = recorder(seen)
    threading.setprofile(profile)
    sys.setprofile(profile)
    try:
        async with http.get(path) as response:
            await response.read()
            assert response.status == 200, (path, response.status)
        await asyncio.sleep(0.2)  # what runs after the answer (access line, dashboard record)
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    return seen


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "mixed"
        shutil.copytree(ROOT / "examples" / "mixed", project)
        config_file = project / "serverless.containers.yml"
        supervisor = Supervisor(
            load_config(config_file, environ={}),
            console=Console(io.StringIO(), color=False),
            port=0,
            loader=lambda: load_config(config_file, environ={}),
            watch=False,
        )
        await supervisor.start()
        try:
            assert supervisor.gateway is not None
            base = f"http://127.0.0.1:{supervisor.gateway.port}"
            async with aiohttp.ClientSession(base_url=base) as http:
                for label, path in (("Fargate", "/api/hello"), ("Lambda", "/")):
                    seen = await files_of_one_request(http, path)
                    print(f"{label} request ({path}): {len(seen)} files")
                    for name in sorted(seen):
                        print(f"  {name}")
        finally:
            await supervisor.stop()


if __name__ == "__main__":
    asyncio.run(main())
