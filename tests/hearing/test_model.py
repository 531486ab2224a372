"""The learned backstops are what their command makes of the repository's data, and they work."""

from __future__ import annotations

import numpy as np
import pytest

from bot.hearing.model import MODEL_FILE, REQUEST_MODEL_FILE, load_model
from bot.hearing.requests import hear_request
from bot.hearing.train import DEFAULT_DATA, Task, train


@pytest.mark.parametrize(
    ("task", "name"), [("danger", MODEL_FILE), ("requests", REQUEST_MODEL_FILE)]
)
def test_the_stored_model_is_what_training_on_the_tuning_sets_gives(task: Task, name: str) -> None:
    stored = load_model(name)
    fresh = train(DEFAULT_DATA, task)
    assert stored.classes == fresh.classes
    assert stored.threshold == fresh.threshold
    assert stored.worry_threshold == fresh.worry_threshold
    # Stored as float32: equal to the fresh weights within that precision.
    assert np.allclose(stored.weights, fresh.weights, atol=1e-5)
    assert np.allclose(stored.intercepts, fresh.intercepts, atol=1e-9)


def test_probabilities_are_a_distribution_and_tell_danger_from_calm() -> None:
    model = load_model()
    calm = model.probabilities("we had a lovely dinner and he laughed at my jokes")
    dark = model.probabilities("he grabbed my neck and said next time he will finish it")
    assert abs(sum(calm.values()) - 1) < 1e-9
    assert calm["ordinary"] > 0.5
    assert dark["danger"] > model.threshold


def test_the_request_backstop_hears_a_short_request_only() -> None:
    long = "he went quiet again after dinner and I keep wondering if I said something wrong"
    assert hear_request(long, "en") is None
    assert load_model(REQUEST_MODEL_FILE).best(long) in (None, "none")
