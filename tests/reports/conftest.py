from __future__ import annotations

import pytest

from content import Library, load_library
from content.report_texts import ReportTexts, load_report_texts


@pytest.fixture(scope="session")
def library() -> Library:
    """The shipped content, loaded the way the bot loads it."""
    return load_library()


@pytest.fixture(scope="session")
def texts() -> ReportTexts:
    """The shipped report texts."""
    return load_report_texts()
