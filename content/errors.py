"""The one exception the content package raises for bad data.

ContentError
    raised by ``load_library`` when any data file is missing, is not valid YAML, or holds an
    item, poll or text that breaks a rule. It lists every problem found, not just the first.
"""

from __future__ import annotations

from collections.abc import Sequence


class ContentError(Exception):
    """The content data is invalid; ``problems`` holds one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        count = len(self.problems)
        header = f"{count} content problem{'s' if count != 1 else ''}:"
        super().__init__("\n".join([header, *(f"- {p}" for p in self.problems)]))
