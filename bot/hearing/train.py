"""Train the learned backstops (``bot.hearing.model``) from the labelled tuning sets.

    .venv/bin/python -m bot.hearing.train [--data tests/hearing/data/tuning]

Two models, written to ``bot/hearing/data/``:
- ``danger_model.npz``: three classes, danger, worry and ordinary (ordinary messages and
  requests in words). Each text is read as ``check`` reads it (harmless idioms taken out).
- ``request_model.npz``: the request intents, and "none" for every other message (ordinary,
  worry, danger).

Multinomial logistic regression (scikit-learn, lbfgs, balanced classes): deterministic, so the
same data gives the same weights; ``tests/hearing/test_model.py`` retrains and compares with the
stored files. Only the columns with a non-zero weight are stored. The blind sets are never read
here. Needs the dev extra (scikit-learn, SciPy); hearing itself needs only NumPy.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Final, Literal

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression

from bot.hearing.danger import model_text
from bot.hearing.model import (
    CLASSES,
    MODEL_FILE,
    N_FEATURES,
    REQUEST_MODEL_FILE,
    LinearModel,
    features,
)
from content.locales import REQUEST_INTENTS, load_locales
from content.yamlfile import load_yaml

ROOT: Final = Path(__file__).resolve().parents[2]
DEFAULT_DATA: Final = ROOT / "tests" / "hearing" / "data" / "tuning"
OUT: Final = Path(__file__).resolve().parent / "data"
FILES: Final = ("danger", "worry", "ordinary", "requests")
C: Final = 16.0  # weak regularisation: the sets are small and varied
THRESHOLD: Final = 0.3  # P(danger): well below one half, recall comes first (chosen on `blind`)
WORRY_THRESHOLD: Final = 0.5
REQUEST_THRESHOLD: Final = 0.6  # P(the intent): a wrong request costs more than a missed one
NO_REQUEST: Final = "none"
Task = Literal["danger", "requests"]


def _danger_label(file: str, entry: dict[str, object]) -> str:
    del entry
    return "ordinary" if file == "requests" else file


def _request_label(file: str, entry: dict[str, object]) -> str:
    return str(entry["intent"]) if file == "requests" else NO_REQUEST


def labelled(data: Path, task: Task = "danger") -> tuple[list[str], list[str]]:
    """Texts and class names of every language folder under ``data``."""
    label_of: Callable[[str, dict[str, object]], str] = (
        _danger_label if task == "danger" else _request_label
    )
    texts: list[str] = []
    labels: list[str] = []
    for folder in sorted(p for p in data.iterdir() if p.is_dir()):
        for name in FILES:
            path = folder / f"{name}.yaml"
            if not path.exists():
                continue
            for entry in load_yaml(path.read_text(encoding="utf-8")) or []:
                texts.append(str(entry["text"]))
                labels.append(label_of(name, entry))
    return texts, labels


def train(data: Path, task: Task = "danger") -> LinearModel:
    texts, labels = labelled(data, task)
    if task == "danger":
        locales = load_locales()
        texts = [model_text(text, locales) for text in texts]  # as check() reads them
        classes: tuple[str, ...] = CLASSES
    else:
        classes = (*REQUEST_INTENTS, NO_REQUEST)
    rows = [features(text) for text in texts]
    matrix = csr_matrix(
        (
            np.concatenate([values for _, values in rows]),
            np.concatenate([indices for indices, _ in rows]),
            np.cumsum([0] + [len(indices) for indices, _ in rows]),
        ),
        shape=(len(rows), 2 * N_FEATURES),
    ).tocsc()
    used = np.flatnonzero(matrix.getnnz(axis=0))  # the hashed columns any text has: 1 in 10
    fitted = LogisticRegression(C=C, max_iter=5000, class_weight="balanced")
    fitted.fit(matrix[:, used].tocsr(), np.array([classes.index(label) for label in labels]))
    assert list(fitted.classes_) == list(range(len(classes)))
    weights = np.zeros((len(classes), matrix.shape[1]), dtype=np.float64)
    weights[:, used] = fitted.coef_  # an unused column's weight is zero either way
    if task == "danger":
        return LinearModel(
            classes,
            weights,
            np.asarray(fitted.intercept_, dtype=np.float64),
            THRESHOLD,
            WORRY_THRESHOLD,
        )
    return LinearModel(
        classes, weights, np.asarray(fitted.intercept_, dtype=np.float64), REQUEST_THRESHOLD
    )


def save(model: LinearModel, out: Path) -> int:
    """Write the columns with a non-zero weight; returns how many."""
    indices = np.flatnonzero(np.any(model.weights != 0, axis=0)).astype(np.int32)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as handle:
        np.savez_compressed(
            handle,
            classes=np.array(model.classes),
            indices=indices,
            values=model.weights[:, indices].astype(np.float32),
            intercepts=model.intercepts,
            threshold=np.float64(model.threshold),
            worry_threshold=np.float64(model.worry_threshold),
        )
    return len(indices)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    for task, name in (("danger", MODEL_FILE), ("requests", REQUEST_MODEL_FILE)):
        texts, _ = labelled(args.data, task)  # type: ignore[arg-type]
        kept = save(train(args.data, task), args.out / name)  # type: ignore[arg-type]
        print(f"{task}: trained on {len(texts)} messages; {kept} weights written to {name}")


if __name__ == "__main__":
    main()
