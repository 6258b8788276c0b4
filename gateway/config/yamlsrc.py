"""YAML loading that remembers where every key was written.

``load_yaml(path)`` returns the plain data (dicts, lists, scalars) and a
:class:`SourceMap` from key paths to file and line, so a later check can say
``serverless.containers.yml:12: containers.api.routing.pathPattern: ...``.

    >>> doc = load_yaml(Path("serverless.containers.yml"))
    >>> doc.sources.position(("containers", "api", "src"))
    SourcePosition(file=PosixPath('serverless.containers.yml'), line=7)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gateway.config.jsyaml import PLAIN, ScfLoader, js_string, plain_scalar
from gateway.errors import ConfigError, SourcePosition

KeyPath = tuple[str | int, ...]


def format_key_path(path: KeyPath) -> str:
    """``("containers", "api", "layers", 0)`` -> ``containers.api.layers[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class SourceMap:
    """Key path -> where it was written, over one or more files."""

    positions: dict[KeyPath, SourcePosition] = field(default_factory=dict)
    texts: dict[Path, list[str]] = field(default_factory=dict)
    default_file: Path | None = None

    def position(self, path: KeyPath) -> SourcePosition | None:
        """The position of ``path``, or of its nearest written ancestor."""
        for end in range(len(path), -1, -1):
            pos = self.positions.get(path[:end])
            if pos is not None:
                return pos
        return SourcePosition(self.default_file) if self.default_file else None

    def source_line(self, pos: SourcePosition | None) -> str:
        if pos is None or not pos.line:
            return ""
        lines = self.texts.get(pos.file, [])
        return lines[pos.line - 1].rstrip() if pos.line <= len(lines) else ""

    def error(
        self, path: KeyPath, message: str, hint: str = "", cls: type[ConfigError] = ConfigError
    ) -> ConfigError:
        """A :class:`ConfigError` located at ``path``."""
        pos = self.position(path)
        return cls(
            message,
            position=pos,
            key_path=format_key_path(path),
            hint=hint,
            source_line=self.source_line(pos),
        )

    def overlay(self, other: SourceMap) -> SourceMap:
        """Positions of ``other`` win; both files' texts are kept."""
        return SourceMap(
            positions={**self.positions, **other.positions},
            texts={**self.texts, **other.texts},
            default_file=self.default_file,
        )


@dataclass
class YamlDocument:
    data: Any
    sources: SourceMap


def load_yaml(path: Path, display: Path | None = None) -> YamlDocument:
    """Parse ``path``; errors name ``display`` (default: ``path``)."""
    shown = display or path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            "file not found",
            position=SourcePosition(shown),
            hint="Run scf-local in your project folder, or pass --config PATH.",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the file ({exc})", position=SourcePosition(shown)) from None
    return parse_yaml(text, shown)


def parse_yaml(text: str, file: Path) -> YamlDocument:
    lines = text.splitlines()
    sources = SourceMap(texts={file: lines}, default_file=file)
    loader = ScfLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        problem = exc.problem or exc.context or "invalid YAML"
        pos = SourcePosition(file, line)
        raise ConfigError(
            f"malformed YAML: {problem}" + (f" (column {mark.column + 1})" if mark else ""),
            position=pos,
            source_line=sources.source_line(pos),
            hint="Check the indentation and quoting on this line and the one above it.",
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"malformed YAML: {exc}", position=SourcePosition(file)) from None
    finally:
        loader.dispose()
    if node is not None:
        _record(node, (), file, sources)
    return YamlDocument(data=data, sources=sources)


def _record(node: yaml.Node, path: KeyPath, file: Path, sources: SourceMap) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                pos = SourcePosition(file, key_node.start_mark.line + 1)
                raise ConfigError(
                    "a key here is a list or a mapping, not a name",
                    position=pos,
                    key_path=format_key_path(path) if path else "",
                    source_line=sources.source_line(pos),
                    hint="Keys are plain names; a '?' starts a complex key, which SCF does not use.",
                )
            key = key_node.value
            if key_node.tag == PLAIN:  # the key as SCF sees it: 1 -> "1", ~ -> "null"
                key = js_string(plain_scalar(key))
            line = key_node.start_mark.line + 1
            if key in seen:
                pos = SourcePosition(file, line)
                raise ConfigError(
                    f"duplicate key '{key}' (first written on line {seen[key]})",
                    position=pos,
                    key_path=format_key_path((*path, key)),
                    source_line=sources.source_line(pos),
                    hint="YAML keeps only the last one; remove or rename one of them.",
                )
            seen[key] = line
            sources.positions[(*path, key)] = SourcePosition(file, line)
            _record(value_node, (*path, key), file, sources)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            sources.positions[(*path, index)] = SourcePosition(file, item.start_mark.line + 1)
            _record(item, (*path, index), file, sources)


def deep_merge(base: Any, over: Any) -> Any:
    """Merge ``over`` into ``base``: mappings merge key by key, anything else is replaced."""
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return over
