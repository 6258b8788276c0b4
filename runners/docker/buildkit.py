"""What a BuildKit build reports through the Engine API, as lines a person reads.

``POST /build?version=2`` answers with JSON messages; BuildKit's progress comes in those
with ``"id": "moby.buildkit.trace"``, whose ``aux`` is a base64 ``StatusResponse`` of
BuildKit's control API (``api/services/control/control.proto``): the build's vertices
(its steps: started, cached, completed, failed), their output and warnings. The message
classes are made here from a descriptor of the fields shown (protobuf skips the others),
so no generated code is kept.

    progress = BuildProgress()
    for line in progress.feed(aux):      # one trace message
        log(line)                        # "#3 [2/4] RUN npm ci", "#3 CACHED", "#3 DONE 4.1s"
    progress.failed_step                 # the step that failed, for the error

The lines follow ``docker build --progress=plain``: ``#N`` numbers a step in the order it
started.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2

_FIELD = descriptor_pb2.FieldDescriptorProto
_STRING, _BOOL, _INT64, _BYTES, _MESSAGE = (
    _FIELD.TYPE_STRING,
    _FIELD.TYPE_BOOL,
    _FIELD.TYPE_INT64,
    _FIELD.TYPE_BYTES,
    _FIELD.TYPE_MESSAGE,
)
_REPEATED, _OPTIONAL = _FIELD.LABEL_REPEATED, _FIELD.LABEL_OPTIONAL
_TIMESTAMP = ".google.protobuf.Timestamp"

_MESSAGES: dict[str, list[tuple[str, int, int, int, str]]] = {
    # name: [(field, number, type, label, message type)], as control.proto numbers them
    "Vertex": [
        ("digest", 1, _STRING, _OPTIONAL, ""),
        ("name", 3, _STRING, _OPTIONAL, ""),
        ("cached", 4, _BOOL, _OPTIONAL, ""),
        ("started", 5, _MESSAGE, _OPTIONAL, _TIMESTAMP),
        ("completed", 6, _MESSAGE, _OPTIONAL, _TIMESTAMP),
        ("error", 7, _STRING, _OPTIONAL, ""),
    ],
    "VertexStatus": [
        ("ID", 1, _STRING, _OPTIONAL, ""),
        ("vertex", 2, _STRING, _OPTIONAL, ""),
        ("name", 3, _STRING, _OPTIONAL, ""),
        ("current", 4, _INT64, _OPTIONAL, ""),
        ("total", 5, _INT64, _OPTIONAL, ""),
        ("completed", 8, _MESSAGE, _OPTIONAL, _TIMESTAMP),
    ],
    "VertexLog": [
        ("vertex", 1, _STRING, _OPTIONAL, ""),
        ("stream", 3, _INT64, _OPTIONAL, ""),
        ("msg", 4, _BYTES, _OPTIONAL, ""),
    ],
    "VertexWarning": [
        ("vertex", 1, _STRING, _OPTIONAL, ""),
        ("level", 2, _INT64, _OPTIONAL, ""),
        ("short", 3, _BYTES, _OPTIONAL, ""),
        ("url", 5, _STRING, _OPTIONAL, ""),
    ],
    "StatusResponse": [
        ("vertexes", 1, _MESSAGE, _REPEATED, ".moby.buildkit.v1.Vertex"),
        ("statuses", 2, _MESSAGE, _REPEATED, ".moby.buildkit.v1.VertexStatus"),
        ("logs", 3, _MESSAGE, _REPEATED, ".moby.buildkit.v1.VertexLog"),
        ("warnings", 4, _MESSAGE, _REPEATED, ".moby.buildkit.v1.VertexWarning"),
    ],
}


def _status_response_class() -> Any:
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    proto = descriptor_pb2.FileDescriptorProto(
        name="scf_local/buildkit_control.proto",
        package="moby.buildkit.v1",
        syntax="proto3",
        dependency=["google/protobuf/timestamp.proto"],
    )
    for name, fields in _MESSAGES.items():
        message = proto.message_type.add(name=name)
        for field_name, number, kind, label, type_name in fields:
            added = message.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:
                added.type_name = type_name
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("moby.buildkit.v1.StatusResponse"))


StatusResponse = _status_response_class()


def decode_status(aux: str) -> Any:
    """One ``moby.buildkit.trace`` message's ``aux`` (base64) as a ``StatusResponse``."""
    return StatusResponse.FromString(base64.b64decode(aux))


def _seconds(stamp: Any) -> float:
    return float(stamp.seconds) + float(stamp.nanos) / 1e9


@dataclass
class _Step:
    name: str
    number: int = 0
    """Given when the step is first shown, as ``--progress=plain`` numbers them."""
    started: float | None = None
    announced: bool = False
    done: bool = False
    failed: bool = False
    pending: bytes = b""


@dataclass
class BuildProgress:
    """The lines of one build's progress, as its trace messages arrive."""

    steps: dict[str, _Step] = field(default_factory=dict)
    shown: int = 0
    failed_step: str = ""
    """The name of the step that failed (``[3/5] RUN npm ci``), once one has."""
    error: str = ""
    """What the failed step said (BuildKit's error text)."""

    def feed(self, aux: str) -> list[str]:
        status = decode_status(aux)
        lines: list[str] = []
        for vertex in status.vertexes:
            step = self._step(vertex.digest, vertex.name)
            if vertex.HasField("started") and step.started is None:
                step.started = _seconds(vertex.started)
            if vertex.error and not step.failed:  # also after a first report of it as done
                step.done = step.failed = True
                lines.extend(self._announce(step))
                lines.extend(self._flush(step))
                self.failed_step, self.error = step.name, vertex.error
                lines.append(f"#{step.number} ERROR: {vertex.error}")
                continue
            if step.done:
                continue
            if vertex.HasField("started") or vertex.cached:
                lines.extend(self._announce(step))
            if vertex.cached:
                step.done = True
                lines.append(f"#{step.number} CACHED")
            elif vertex.HasField("completed"):
                step.done = True
                lines.extend(self._flush(step))
                took = _seconds(vertex.completed) - (step.started or _seconds(vertex.completed))
                lines.append(f"#{step.number} DONE {took:.1f}s")
        for log in status.logs:
            logged = self.steps.get(log.vertex)
            if logged is None:
                continue
            lines.extend(self._announce(logged))
            text = logged.pending + log.msg
            *whole, logged.pending = text.split(b"\n")
            lines.extend(f"#{logged.number} {line.decode('utf-8', 'replace').rstrip()}" for line in whole)
        for warning in status.warnings:
            warned = self.steps.get(warning.vertex)
            where = f"#{warned.number} " if warned is not None and warned.number else ""
            lines.append(f"{where}WARNING: {warning.short.decode('utf-8', 'replace').strip()}")
        return lines

    def _step(self, digest: str, name: str) -> _Step:
        step = self.steps.get(digest)
        if step is None:
            step = self.steps[digest] = _Step(name)
        return step

    def _announce(self, step: _Step) -> list[str]:
        if step.announced:
            return []
        step.announced = True
        self.shown += 1
        step.number = self.shown
        return [f"#{step.number} {step.name}"]

    def _flush(self, step: _Step) -> list[str]:
        rest, step.pending = step.pending, b""
        text = rest.decode("utf-8", "replace").rstrip()
        return [f"#{step.number} {text}"] if text else []
