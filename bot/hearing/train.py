"""Train the danger backstop (``bot.hearing.model``) from the labelled tuning sets.

    .venv/bin/python -m bot.hearing.train [--data tests/hearing/data/tuning] [--out PATH]

Three classes: danger, worry, ordinary (ordinary messages and requests in words). Each text is
read as ``check`` reads it (harmless idioms taken out). Multinomial logistic regression
(scikit-learn, lbfgs, balanced classes): deterministic, so the same data gives the same weights;
``tests/hearing/test_model.py`` retrains and compares with the stored file. Only the columns
with a non-zero weight are stored. The blind sets are never read here.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Final

import numpy as np
import yaml
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression

from bot.hearing.danger import model_text
from bot.hearing.model import CLASSES, MODEL_FILE, N_FEATURES, DangerModel, features
from content.locales import load_locales

ROOT: Final = Path(__file__).resolve().parents[2]
DEFAULT_DATA: Final = ROOT / "tests" / "hearing" / "data" / "tuning"
DEFAULT_OUT: Final = Path(__file__).resolve().parent / "data" / MODEL_FILE
FILES: Final = {
    "danger": "danger",
    "worry": "worry",
    "ordinary": "ordinary",
    "requests": "ordinary",
}
C: Final = 16.0  # weak regularisation: the sets are small and varied
THRESHOLD: Final = 0.4  # below one half: recall comes first
WORRY_THRESHOLD: Final = 0.5


def labelled(data: Path) -> tuple[list[str], list[int]]:
    """Texts and class indices (``CLASSES``) of every language folder under ``data``."""
    texts: list[str] = []
    labels: list[int] = []
    for folder in sorted(p for p in data.iterdir() if p.is_dir()):
        for name, label in FILES.items():
            path = folder / f"{name}.yaml"
            if not path.exists():
                continue
            for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
                texts.append(str(entry["text"]))
                labels.append(CLASSES.index(label))
    return texts, labels


def train(data: Path) -> DangerModel:
    texts, labels = labelled(data)
    locales = load_locales()
    read = [model_text(text, locales) for text in texts]  # as check() reads them
    rows = [features(text) for text in read]
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
    fitted.fit(matrix[:, used].tocsr(), np.array(labels))
    assert list(fitted.classes_) == list(range(len(CLASSES)))
    weights = np.zeros((len(CLASSES), matrix.shape[1]), dtype=np.float64)
    weights[:, used] = fitted.coef_  # an unused column's weight is zero either way
    return DangerModel(
        weights=weights,
        intercepts=np.asarray(fitted.intercept_, dtype=np.float64),
        threshold=THRESHOLD,
        worry_threshold=WORRY_THRESHOLD,
    )


def save(model: DangerModel, out: Path) -> int:
    """Write the columns with a non-zero weight; returns how many."""
    indices = np.flatnonzero(np.any(model.weights != 0, axis=0)).astype(np.int32)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as handle:
        np.savez_compressed(
            handle,
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
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    texts, _ = labelled(args.data)
    model = train(args.data)
    kept = save(model, args.out)
    print(f"trained on {len(texts)} messages; {kept} weights written to {args.out}")


if __name__ == "__main__":
    main()
