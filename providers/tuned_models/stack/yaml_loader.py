"""The YAML reader of stack files: ``yaml.safe_load`` that never hangs nor crashes.

:class:`StrictLoader` records keys repeated in one mapping, refuses a recursive alias and
nesting deeper than :data:`MAX_YAML_DEPTH`, and keeps YAML merge keys (``<<``) linear.
"""

from __future__ import annotations

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
