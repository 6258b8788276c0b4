"""The engine's image commands: exists, pull (with progress), build, inspect, list a folder,
make sure of one. Part of :class:`runners.docker.backend.DockerBackend`."""

from __future__ import annotations

import asyncio
import io
import tarfile
import time
from collections.abc import Mapping
from typing import Any

import docker

from gateway.errors import DockerError, DockerUnavailable, ImageMissing
from gateway.logs import Log
from runners.docker.connection import Connection
from runners.docker.errors import map_docker_errors
from runners.docker.image_build import Builder, BuildRequest, build_classic, build_with_buildkit, pick_builder


class ImageCommands:
    client: Any
    connection: Connection
    _builder: Builder | None = None
    _replaced: set[str] | None = None
    """Images a rebuild took a tag from, removed once no container uses them."""

    async def builder(self) -> Builder:
        """The builder this engine builds with (asked once)."""
        if self._builder is None:

            def ask() -> Builder:
                with map_docker_errors():
                    return pick_builder(self.connection.version)

            self._builder = await asyncio.to_thread(ask)
        return self._builder

    async def image_exists(self, image: str) -> bool:
        def exists() -> bool:
            try:
                with map_docker_errors(image=image):
                    self.client.images.get(image)
                return True
            except ImageMissing:
                return False

        return await asyncio.to_thread(exists)

    async def pull(self, image: str, progress: Log) -> None:
        """Pull ``image``, calling ``progress`` with short status lines."""

        def pull() -> None:
            repository, _, tag = (
                image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "latest")
            )
            with map_docker_errors(image=image):
                layers: dict[str, tuple[int, int, bool]] = {}  # id -> (bytes done, bytes in all, complete)
                shown = 0.0
                for event in self.client.api.pull(repository, tag=tag, stream=True, decode=True):
                    if "error" in event:
                        raise ImageMissing(image, str(event["error"]))
                    status = str(event.get("status", ""))
                    layer = event.get("id")
                    detail = event.get("progressDetail") or {}
                    if layer and status in ("Downloading", "Extracting") and detail.get("total"):
                        done = status == "Extracting"
                        layers[layer] = (int(detail.get("current", 0)), int(detail["total"]), done)
                    elif layer and status in ("Pull complete", "Already exists", "Download complete"):
                        _, total, _ = layers.get(layer, (0, 0, True))
                        layers[layer] = (total, total, status != "Download complete")
                    elif not layer and status:
                        progress(status)  # "Digest: ...", "Status: Downloaded newer image ..."
                        continue
                    if time.monotonic() - shown >= 0.5 or status == "Pull complete":
                        shown = time.monotonic()
                        got = sum(c for c, _, _ in layers.values()) / 1e6
                        size = sum(t for _, t, _ in layers.values()) / 1e6
                        complete = sum(1 for _, _, d in layers.values() if d)
                        progress(f"{complete}/{len(layers)} layers, {got:.1f}/{size:.1f} MB")

        try:
            await asyncio.to_thread(pull)
        except DockerError as exc:
            if isinstance(exc, (ImageMissing, DockerUnavailable)):
                raise
            raise ImageMissing(image, str(exc)) from exc

    async def build(
        self,
        *,
        context: str,
        dockerfile: str | None,
        dockerfile_text: str | None,
        tag: str,
        buildargs: Mapping[str, str],
        log: Log,
        container: str,
        **kwargs: Any,
    ) -> str:
        """``docker build``; streams output lines to ``log``, returns the image id.
        ``dockerfile_text`` (build.dockerFileString) is used with ``context`` as the build context.
        BuildKit where the engine has it (:mod:`runners.docker.image_build`). The image the tag
        named before is removed once no container uses it: a rebuild leaves no dangling image."""
        request = BuildRequest(
            context=context,
            tag=tag,
            container=container,
            dockerfile=dockerfile,
            dockerfile_text=dockerfile_text,
            buildargs=buildargs,
            options=kwargs,
        )
        builds = build_with_buildkit if (await self.builder()).kind == "buildkit" else build_classic
        before = await self._image_id(tag)
        built = await asyncio.to_thread(builds, self.client, request, log)
        after = await self._image_id(tag)
        if before is not None and before != after:
            if self._replaced is None:
                self._replaced = set()
            self._replaced.add(before)
            await self.remove_replaced_images()
        return built

    async def _image_id(self, image: str) -> str | None:
        def find() -> str | None:
            try:
                with map_docker_errors(image=image):
                    return str(self.client.images.get(image).id)
            except ImageMissing:
                return None

        return await asyncio.to_thread(find)

    async def remove_replaced_images(self) -> None:
        """Remove the images rebuilds replaced that no container uses any more (never forced:
        an image a container or another tag still holds stays until a later call)."""
        if not self._replaced:
            return

        def remove() -> None:
            for image in list(self._replaced or ()):
                try:
                    self.client.images.remove(image, noprune=False)
                except docker.errors.NotFound:
                    pass
                except docker.errors.APIError:
                    continue  # in use (409): kept for the next call
                self._replaced.discard(image)  # type: ignore[union-attr]

        await asyncio.to_thread(remove)

    async def image_config(self, image: str) -> Mapping[str, Any]:
        """The image's ``Config`` (Entrypoint, Cmd, Env, ExposedPorts...)."""

        def inspect() -> Mapping[str, Any]:
            with map_docker_errors(image=image):
                return dict(self.client.images.get(image).attrs.get("Config") or {})

        return await asyncio.to_thread(inspect)

    async def list_image_dir(self, image: str, path: str, executable: bool = False) -> list[str]:
        """The names of the files in folder ``path`` of ``image`` (only executables with
        ``executable``; empty when there is no such folder), read from a created, never
        started, container."""

        def read() -> list[str]:
            with map_docker_errors(image=image):
                container = self.client.containers.create(image, entrypoint=["/"], command=[])
            try:
                stream, _ = container.get_archive(path)
                data = b"".join(stream)
            except docker.errors.NotFound:
                return []
            finally:
                container.remove(force=True)
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                prefix = path.rstrip("/").rsplit("/", 1)[-1] + "/"
                return sorted(
                    m.name[len(prefix) :]
                    for m in tar.getmembers()
                    if m.name.startswith(prefix) and m.isfile()
                )

        return await asyncio.to_thread(read)

    async def ensure_image(self, image: str, log: Log, hint: str = "") -> None:
        """Pull ``image`` unless it is present, with progress; ``hint`` joins the error if it cannot be."""
        if await self.image_exists(image):
            return
        log(f"pulling {image}")
        try:
            await self.pull(image, lambda line: log(f"pull {image}: {line}"))
        except ImageMissing as exc:
            raise ImageMissing(image, exc.detail, hint) from exc
