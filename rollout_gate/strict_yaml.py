"""Strict YAML reading for configuration files: `yaml.safe_load` semantics, minus the ways it fails open.

On top of the safe loader this refuses, each as a one-line `ConfigError` naming the file (and the key and
line where there is one): files over 1 MiB, content that is not UTF-8, a key written twice in one mapping
(PyYAML silently keeps the last one, so a second `safety:` block wins), recursive aliases, nesting deeper
than any configuration needs, and anchors/aliases that expand into more values than any configuration
has (the "billion laughs" bomb: a few hundred bytes that expand to 10^9 values once copied).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from rollout_gate.errors import ConfigError

MAX_BYTES = 1024 * 1024
# An environment file nests about six levels and expands to a few thousand values.
MAX_DEPTH = 64
MAX_VALUES = 100_000
MERGE_TAG = "tag:yaml.org,2002:merge"

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class YamlDocument:
    """A parsed document and the 1-based line of every key (and list item) in it."""

    data: Any
    lines: Mapping[KeyPath, int] = field(default_factory=dict)

    def line_of(self, path: KeyPath) -> int | None:
        """The line of `path`, else of its nearest parent written in the file."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


class _Refused(Exception):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class StrictLoader(yaml.SafeLoader):
    """The safe loader, with a nesting limit and no recursive aliases (checked while composing)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._open_anchors: set[str] = set()

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, AliasEvent):
            if event.anchor in self._open_anchors:
                raise _Refused(f"alias *{event.anchor} refers to its own anchor; write the value out", line)
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(f"nested deeper than {MAX_DEPTH} levels; flatten the structure", line)
        anchor = event.anchor
        if anchor is not None:
            self._open_anchors.add(anchor)
        try:
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open_anchors.discard(anchor)


def read_yaml(path: Path) -> YamlDocument:
    """Read and parse a configuration file, refusing what `parse_yaml` refuses and unreadable files."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_yaml(data, str(path))


def parse_yaml(data: bytes, where: str) -> YamlDocument:
    """Parse one YAML document the way `yaml.safe_load` does, or raise a one-line ConfigError."""
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{where}: larger than 1 MiB; a configuration file is a few KiB, check it is the right file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{where}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); save the file as UTF-8"
        ) from None
    loader: StrictLoader | None = None
    try:
        loader = StrictLoader(text)  # the reader refuses control characters right here
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(None)
        _check_size(node)
        lines: dict[KeyPath, int] = {}
        _check_keys(loader, node, (), lines)
        return YamlDocument(loader.construct_document(node), lines)
    except _Refused as exc:
        at = f":{exc.line}" if exc.line else ""
        raise ConfigError(f"{where}{at}: {exc.message}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: invalid YAML{_position(exc, text)}: {_problem(exc)}") from None
    finally:
        if loader is not None:
            loader.dispose()


def located(where: str, document: YamlDocument, loc: KeyPath) -> str:
    """`file:line: key`, with the line of the key (or of its nearest parent written in the file)."""
    line = document.line_of(loc)
    key = ".".join(str(part) for part in loc) or "(top level)"
    return f"{where}{f':{line}' if line else ''}: {key}"


def validation_message(exc: ValidationError, where: str, document: YamlDocument) -> str:
    """The first validation error as one line naming file, line and key; never the offending value."""
    error = exc.errors()[0]
    at = located(where, document, tuple(error["loc"]))
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    if error["type"] == "extra_forbidden":
        return f"{at}: unknown key{more}"
    if error["type"] == "missing":
        return f"{at}: required key is missing{more}"
    # Never echo the input: it may be a secret.
    message = error["msg"].removeprefix("Value error, ")
    return f"{at}: {message}{more}"


def _check_size(root: Node) -> None:
    """Count the values the document expands to (aliases counted every time they are used), and its depth."""
    # Memoized by node, in document order: an anchor is measured before any alias to it, so the walk
    # itself stays as shallow as the written document.
    measured: dict[int, tuple[int, int]] = {}

    def measure(node: Node) -> tuple[int, int]:
        known = measured.get(id(node))
        if known is not None:
            return known
        children: list[Node] = []
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        parts = [measure(child) for child in children]
        result = (1 + sum(size for size, _ in parts), 1 + max((depth for _, depth in parts), default=0))
        measured[id(node)] = result
        return result

    size, depth = measure(root)
    if size <= MAX_VALUES and depth <= MAX_DEPTH:
        return
    message = (
        f"aliases expand to more than {MAX_VALUES} values; use fewer anchors/aliases"
        if size > MAX_VALUES
        else f"aliases nest deeper than {MAX_DEPTH} levels; use fewer anchors/aliases"
    )
    # Name the biggest top-level entry: that is where the aliases pile up.
    if isinstance(root, MappingNode) and root.value:
        key, _ = max(root.value, key=lambda pair: measure(pair[1]))
        name = str(key.value) if isinstance(key, ScalarNode) else "?"
        raise _Refused(f"{name}: {message}", key.start_mark.line + 1)
    raise _Refused(message)


def _check_keys(loader: StrictLoader, node: Node, path: KeyPath, lines: dict[KeyPath, int]) -> None:
    """Refuse a key written twice in one mapping, at any level; record the line of every key."""
    if isinstance(node, SequenceNode):
        for index, child in enumerate(node.value):
            lines.setdefault((*path, index), child.start_mark.line + 1)
            _check_keys(loader, child, (*path, index), lines)
        return
    if not isinstance(node, MappingNode):
        return
    seen: dict[Hashable, int] = {}
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        if key_node.tag == MERGE_TAG:
            name: str | int = "<<"
            identity: Hashable = MERGE_TAG
        elif isinstance(key_node, ScalarNode):
            identity = loader.construct_object(key_node)
            name = str(key_node.value)
        else:
            continue  # a complex key: the safe constructor refuses it
        if not isinstance(identity, Hashable):
            continue
        dotted = ".".join(str(part) for part in (*path, name))
        if identity in seen:
            raise _Refused(f"{dotted}: duplicate key (first at line {seen[identity]}); keep only one", line)
        seen[identity] = line
        lines[(*path, name)] = line
        if key_node.tag != MERGE_TAG:
            _check_keys(loader, value_node, (*path, name), lines)


def _position(exc: yaml.YAMLError, text: str) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return f" at line {mark.line + 1}, column {mark.column + 1}"
    if isinstance(exc, yaml.reader.ReaderError):
        before = text[: exc.position]
        return f" at line {before.count(chr(10)) + 1}, column {len(before) - before.rfind(chr(10))}"
    return ""


def _problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    if problem:
        return str(problem)
    if isinstance(exc, yaml.reader.ReaderError):
        return f"character #x{exc.character:04x} is not allowed; remove it"
    return str(exc).splitlines()[0]
