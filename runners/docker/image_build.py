"""Building an image as ``docker build`` builds it today: BuildKit where the engine has it.

Docker's CLI builds with BuildKit by default since 23.0; the classic builder does not
know ``RUN --mount=type=cache``, heredocs or ``COPY --link``, and leaves ``TARGETARCH``
empty. The engine runs BuildKit behind its plain API: ``POST /build?version=2`` with the
context as a tar, no buildx and no session (Engine API 1.39 and later, on Linux). Its
progress arrives as ``moby.buildkit.trace`` messages (:mod:`runners.docker.buildkit`),
the image id as ``moby.image.id``.

Podman's compatible API builds with Buildah whatever is asked (it accepts cache mounts);
an engine older than 1.39 gets the classic builder. :func:`pick_builder` says which, so
``up`` can say it in one line.

    builder = pick_builder(client.version())      # Builder("buildkit", "BuildKit (Docker 27.3.1)")
    image_id = run_build(client, builder, request, log)
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from docker.api.build import process_dockerfile
from docker.utils.build import exclude_paths

from gateway.errors import BuildFailed
from gateway.logs import Log
from runners.docker.errors import map_docker_errors

BUILDKIT_API = (1, 39)
"""The Engine API version from which ``version=2`` builds with BuildKit without a session."""


@dataclass(frozen=True)
class Builder:
    kind: str
    """``buildkit``, ``classic`` (the engine's first builder) or ``buildah`` (Podman's)."""
    says: str
    """For the one line ``up`` prints: ``BuildKit (Docker 27.3.1)``."""

    @property
    def prunes_stages(self) -> bool:
        """Builds only the stages the target needs (the classic builder builds them all)."""
        return self.kind != "classic"


def pick_builder(version: Mapping[str, Any]) -> Builder:
    """The builder an engine answering ``GET /version`` with ``version`` will build with."""
    components = version.get("Components") or []
    names = " ".join(str(c.get("Name", "")) for c in components)
    engine = version.get("Version", "?")
    if "podman" in names.lower():
        return Builder("buildah", f"Buildah (Podman {engine})")
    api = tuple(int(part) for part in str(version.get("ApiVersion", "0.0")).split(".")[:2])
    if str(version.get("Os", "linux")).lower() == "linux" and api >= BUILDKIT_API:
        return Builder("buildkit", f"BuildKit (Docker {engine})")
    return Builder("classic", f"the classic builder (Docker {engine}, API {'.'.join(map(str, api))})")


@dataclass(frozen=True)
class BuildRequest:
    context: str
    tag: str
    container: str
    dockerfile: str | None = "Dockerfile"
    """In the context; None when ``dockerfile_text`` is given."""
    dockerfile_text: str | None = None
    buildargs: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    """docker-py's names (``target``, ``platform``, ``nocache``...), from ``build.options``."""


_API_NAMES = {  # docker-py's keyword -> the Engine API's query parameter
    "target": "target",
    "platform": "platform",
    "nocache": "nocache",
    "pull": "pull",
    "network_mode": "networkmode",
    "shmsize": "shmsize",
    "squash": "squash",
}


def buildkit_params(request: BuildRequest, dockerfile: str) -> dict[str, Any]:
    """The query of ``POST /build`` for a BuildKit build of ``request``."""
    params: dict[str, Any] = {"version": "2", "t": request.tag, "dockerfile": dockerfile, "rm": "1"}
    if request.buildargs:
        params["buildargs"] = json.dumps(dict(request.buildargs))
    options = dict(request.options)
    for name, api in _API_NAMES.items():
        value = options.pop(name, None)
        if value is not None:
            params[api] = ("1" if value else "0") if isinstance(value, bool) else str(value)
    if "labels" in options:
        params["labels"] = json.dumps(options.pop("labels"))
    if "cache_from" in options:
        params["cachefrom"] = json.dumps(options.pop("cache_from"))
    if "extra_hosts" in options:
        params["extrahosts"] = ",".join(f"{h}:{ip}" for h, ip in options.pop("extra_hosts").items())
    options.pop("rm", None), options.pop("forcerm", None)  # BuildKit leaves no containers behind
    if options:
        raise ValueError(f"no BuildKit parameter for {', '.join(options)}")
    return params


def _context_tar(request: BuildRequest) -> tuple[IO[bytes], str]:
    """The build context as a tar (``.dockerignore`` applied, as ``docker build`` does), and the
    Dockerfile's name inside it.

    GNU-format headers with whole-second times, short names first: BuildKit reads the first
    1,024 bytes of a context to tell an archive from a bare Dockerfile (``isArchive`` in its
    Dockerfile frontend), and a first entry with a PAX header (Python's default format, written
    for any file time with a fraction of a second) does not fit, so the tar was read as a
    Dockerfile."""
    root = os.path.abspath(request.context)
    exclude: list[str] = []
    ignore = os.path.join(root, ".dockerignore")
    if os.path.exists(ignore):
        with open(ignore, encoding="utf-8") as handle:
            lines = [line.strip() for line in handle.read().splitlines()]
            exclude = [line for line in lines if line and not line.startswith("#")]
    extra: list[tuple[str, str]] = []
    if request.dockerfile_text is not None:
        name = f".dockerfile.scf-local.{os.urandom(8).hex()}"
        # the generated Dockerfile is not part of what COPY . copies
        extra = [(name, request.dockerfile_text), (".dockerignore", "\n".join([*exclude, name]))]
    else:
        name = str(process_dockerfile(request.dockerfile or "Dockerfile", root)[0])
    files = sorted(exclude_paths(root, exclude, dockerfile=name))
    files.sort(key=lambda path: len(path.encode()) >= 100)  # short names first (stable)
    archive = tempfile.TemporaryFile()  # noqa: SIM115 (returned open: the caller closes it)
    with tarfile.open(fileobj=archive, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for extra_name, text in extra:
            data = text.encode("utf-8")
            info = tarfile.TarInfo(extra_name)
            info.size, info.mtime = len(data), int(time.time())
            tar.addfile(info, io.BytesIO(data))
        written = {extra_name for extra_name, _ in extra}
        for path in files:
            if path in written:
                continue
            full = os.path.join(root, path)
            info = tar.gettarinfo(full, arcname=path)
            if info is None:  # a socket
                continue
            info.mtime = int(info.mtime)
            if info.isfile():
                with open(full, "rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    archive.seek(0)
    return archive, name


def build_with_buildkit(client: Any, request: BuildRequest, log: Log) -> str:
    """Build ``request`` with the engine's BuildKit (blocking: run it in a thread); its steps go
    to ``log`` as ``--progress=plain`` prints them. Returns the image id."""
    from runners.docker.buildkit import BuildProgress  # protobuf: imported by a build only (import time)

    context, dockerfile = _context_tar(request)
    api = client.api
    progress = BuildProgress()
    image_id = ""
    with map_docker_errors(), context:
        # what the SDK's own build() sends, with version=2 (the SDK has no parameter for it)
        response = api._post(
            api._url("/build"),
            params=buildkit_params(request, dockerfile),
            data=context,
            headers={"Content-Type": "application/tar"},
            stream=True,
            timeout=None,
        )
        api._raise_for_status(response)
        for event in api._stream_helper(response, decode=True):
            if "error" in event:
                detail = event.get("errorDetail", {}).get("message") or event["error"]
                step = progress.failed_step
                raise BuildFailed(request.container, step, str(progress.error or detail).strip())
            kind = event.get("id")
            if kind == "moby.buildkit.trace":
                for line in progress.feed(str(event.get("aux", ""))):
                    log(line)
            elif kind == "moby.image.id":
                image_id = str((event.get("aux") or {}).get("ID", ""))
            else:
                for line in str(event.get("stream", "")).splitlines():
                    if line.strip():
                        log(line.rstrip())
    return image_id or request.tag


def build_classic(client: Any, request: BuildRequest, log: Log) -> str:
    """Build ``request`` with the engine's first builder, or Podman's Buildah behind the same
    call (blocking: run it in a thread); ``Step n/m`` (Buildah: ``STEP n/m:``) lines name the
    step that failed. Returns the image id."""
    step = ""
    image_id = ""
    with tempfile.TemporaryDirectory() as tmp:
        path = request.dockerfile
        if request.dockerfile_text is not None:  # outside the context: docker-py adds it to the tar
            path = os.path.join(tmp, "Dockerfile")
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(request.dockerfile_text)
        with map_docker_errors():
            stream = client.api.build(
                path=request.context,
                dockerfile=path,
                tag=request.tag,
                buildargs=dict(request.buildargs),
                decode=True,
                **{"rm": True, "forcerm": True, **request.options},  # no intermediate containers left
            )
            for event in stream:
                if "error" in event:
                    detail = event.get("errorDetail", {}).get("message") or event["error"]
                    raise BuildFailed(request.container, step, str(detail).strip())
                for line in str(event.get("stream", "")).splitlines():
                    if line.strip():
                        if line.startswith(("Step ", "STEP ")):
                            step = line.strip()
                        log(line.rstrip())
                aux = event.get("aux")
                if isinstance(aux, dict) and "ID" in aux:
                    image_id = str(aux["ID"])
    return image_id or request.tag
