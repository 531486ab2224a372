"""The learned backstop is what its command makes of the repository's data, and it is used."""

from __future__ import annotations

import numpy as np

from bot.hearing.model import load_model
from bot.hearing.train import DEFAULT_DATA, train


def test_the_stored_model_is_what_training_on_the_tuning_sets_gives() -> None:
    stored = load_model()
    fresh = train(DEFAULT_DATA)
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
