"""Helpers to copy the shipped content data and break it on purpose."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

import content
from content.yamlfile import load_yaml

DATA_DIR = Path(content.__file__).parent / "data"


def copy_data(destination: Path) -> Path:
    """A writable copy of the shipped data folder."""
    return Path(shutil.copytree(DATA_DIR, destination / "data"))


def read_yaml(directory: Path, name: str) -> Any:
    return load_yaml((directory / name).read_text(encoding="utf-8"))


def write_yaml(directory: Path, name: str, data: Any) -> None:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    (directory / name).write_text(text, encoding="utf-8")


def entry(entries: list[dict[str, Any]], entry_id: str) -> dict[str, Any]:
    """The entry with this id in a list read from an items or polls file."""
    for candidate in entries:
        if candidate.get("id") == entry_id:
            return candidate
    raise LookupError(entry_id)
