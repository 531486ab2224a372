"""The labelled message sets: tuning (tests hold them) and blind (measured, never tuned on).

``tests/hearing/data/<set>/<lang>/{danger,worry,ordinary,requests}.yaml``, each a list of
``{text, category|kind|intent}``. The blind sets were written by someone who had not seen the
code or the tuning sets; a blind miss becomes a new tuning case, and the blind set gets a new
case written the same way. The first blind set (2026-12-06) was moved into the tuning sets
whole on 2026-12-07 and replaced by a second one, written the same way (``blind``: its
figures were consulted to choose the learned backstop's classes and threshold, so it is a
validation set now); ``blind_c``, a third, was consulted when the threshold was compared;
``blind_d``, a fourth, was measured once, at the end.
Texts are never printed by the measurements unless asked for (``--show``), and only for the
tuning set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from content.yamlfile import load_yaml

DATA: Final = Path(__file__).parent / "data"
SetName = Literal["tuning", "blind", "blind_c", "blind_d"]
FILES: Final = ("danger", "worry", "ordinary", "requests")


@dataclass(frozen=True, slots=True)
class Labelled:
    text: str
    lang: str
    file: str  # danger, worry, ordinary or requests
    label: str  # the category, kind or intent


def load(which: SetName, file: str) -> list[Labelled]:
    """Every labelled message of one file, in every language."""
    out: list[Labelled] = []
    for folder in sorted((DATA / which).iterdir()):
        path = folder / f"{file}.yaml"
        if not path.exists():
            continue
        for entry in load_yaml(path.read_text(encoding="utf-8")) or []:
            label = entry.get("category") or entry.get("kind") or entry.get("intent") or ""
            out.append(Labelled(str(entry["text"]), folder.name, file, str(label)))
    return out
