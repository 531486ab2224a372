"""Reading the content's YAML: safe, fast (libyaml's parser where PyYAML has it) and strict about
a key given twice (plain PyYAML silently keeps the last one)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml

# libyaml parses the content's 1.5 MB of YAML about ten times faster than the pure-Python
# parser: a second of every start-up. The constructor (and so the check below) is the same.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UniqueKeyLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """A safe YAML loader that rejects a key given twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Hashable] = set()
        for key_node, _value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # the base class reports unhashable keys
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"the key {key!r} appears twice",
                    key_node.start_mark,
                )
            seen.add(key)
        result: dict[Hashable, Any] = super().construct_mapping(node, deep=deep)
        return result


def load_yaml(text: str) -> Any:
    """One YAML document, read safely with :class:`UniqueKeyLoader`."""
    return yaml.load(text, Loader=UniqueKeyLoader)
