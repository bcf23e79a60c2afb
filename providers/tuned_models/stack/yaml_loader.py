"""The YAML reader of stack files: ``yaml.safe_load`` that never hangs nor crashes.

:class:`StrictLoader` records keys repeated in one mapping, refuses a recursive alias and
nesting deeper than :data:`MAX_YAML_DEPTH`, and keeps YAML merge keys (``<<``) linear.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

#: How deeply a stack file may nest mappings and lists (a model spec needs about six levels).
MAX_YAML_DEPTH = 64


class StrictLoader(yaml.SafeLoader):
    """``yaml.safe_load`` that also records keys repeated in one mapping (YAML keeps the last,
    silently; Pulumi rejects the file), and raises a :class:`yaml.YAMLError` with the line for
    an alias used inside the value it names (a value that contains itself) and for nesting
    deeper than :data:`MAX_YAML_DEPTH`. So what it returns is a finite tree (shared values
    allowed), and composing it never exhausts Python's stack."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []
        self._open_anchors: list[str] = []
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        mark: Any = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open_anchors:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"recursive alias *{event.anchor}: it is used inside the value "
                    f"&{event.anchor} names, so that value would contain itself",
                    mark,
                )
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_YAML_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nested more than {MAX_YAML_DEPTH} levels deep", mark
            )
        anchor: str | None = getattr(event, "anchor", None)
        if anchor is not None:
            self._open_anchors.append(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open_anchors.pop()

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        # Checked as written, before merge keys (<<) add entries to the node.
        node: yaml.MappingNode = super().compose_mapping_node(anchor)
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    self.duplicates.append((key_node.value, key_node.start_mark.line + 1))
                seen.add(key_node.value)
        return node

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        # Python refuses to convert integers of more than 4,300 digits (a ValueError, which
        # PyYAML does not turn into a YAMLError): say so with the line.
        try:
            value: int = super().construct_yaml_int(node)
        except ValueError:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"an integer of {sum(c.isdigit() for c in node.value)} digits is too large to read",
                node.start_mark,
            ) from None
        return value

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        # PyYAML's merge (<<) keeps every merged entry, later ones winning, so a chain of
        # mappings each merging the previous one twice doubles at every link. Keep only the
        # winning entry of each key: the same mapping, linear in size.
        # (A key keeps the position of its first entry, as when the dict is built.)
        super().flatten_mapping(node)
        winners: dict[Any, tuple[Any, Any]] = {}
        for pair in node.value:
            key_node = pair[0]
            ident = (key_node.tag, key_node.value) if isinstance(key_node, yaml.ScalarNode) else id(key_node)
            winners[ident] = pair
        if len(winners) < len(node.value):
            node.value = list(winners.values())


StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_yaml_int)


#: A position in a stack file: (line, column), 1-based.
Mark = tuple[int, int]


class KeyMarks:
    """Where each key of a composed YAML document is: the key path (mapping keys, and ``[i]``
    for list items) -> the position of the key (or item). Aliases are walked once, so the
    index is linear in the size of the file."""

    def __init__(self, root: yaml.Node | None) -> None:
        self._marks: dict[tuple[str, ...], Mark] = {}
        seen: set[int] = set()
        todo: list[tuple[tuple[str, ...], yaml.Node]] = [((), root)] if root is not None else []
        while todo:
            path, node = todo.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode):
                        here = (*path, str(key.value))
                        self._marks.setdefault(here, (key.start_mark.line + 1, key.start_mark.column + 1))
                        todo.append((here, value))
            elif isinstance(node, yaml.SequenceNode):
                for i, item in enumerate(node.value):
                    here = (*path, f"[{i}]")
                    self._marks.setdefault(here, (item.start_mark.line + 1, item.start_mark.column + 1))
                    todo.append((here, item))

    def locate(self, path: Sequence[str]) -> Mark | None:
        """The position of ``path``, or of its longest prefix the file has; None for none."""
        parts = tuple(path)
        while parts:
            if parts in self._marks:
                return self._marks[parts]
            parts = parts[:-1]
        return None
