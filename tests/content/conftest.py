from __future__ import annotations

import pytest

from content import Library, load_library


@pytest.fixture(scope="session")
def library() -> Library:
    """The shipped content, loaded the way the bot loads it."""
    return load_library()
