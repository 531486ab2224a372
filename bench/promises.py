"""The promise checker's wider sweep: what the bot says about time, against what happens.

    .venv/bin/python -m bench.promises [--cases 20000] [--seed 1]

Draws cases at random over every zone, day, scenario and snooze choice of
``tests.promises.simulation`` (zones with daylight saving, quiet hours spanning midnight, every
pace and check-in day, press times over three days) and runs each through the real planner and
settle step. Prints how many cases ran, how many promises were checked and how many were kept,
by scenario, with the first broken ones.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter

from content import load_library
from scheduler.promises import SNOOZE_CHOICES
from tests.promises.simulation import DAYS, PACES, SCENARIOS, ZONES, Case, check


def draw(rng: random.Random) -> Case:
    return Case(
        zone=rng.choice(ZONES),
        day=rng.choice(DAYS),
        press_minute=rng.randrange(3 * 24 * 60),
        nudge_minute=rng.randrange(288) * 5,
        quiet_start=rng.randrange(96) * 15,
        quiet_end=rng.randrange(96) * 15,
        pace=rng.choice(PACES),
        checkin_weekday=rng.randrange(7),
        scenario=rng.choice(SCENARIOS),
        choice=rng.choice(SNOOZE_CHOICES),
        pause_after=rng.randrange(1, 24 * 60),
        pause_days=rng.choice((0, 1, 3, 7)),
        resume_after=rng.randrange(1, 8 * 24 * 60),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    library = load_library()
    checked: Counter[str] = Counter()
    broken: Counter[str] = Counter()
    examples: list[str] = []
    started = time.perf_counter()
    for _ in range(args.cases):
        case = draw(rng)
        outcome = check(case, library)
        checked[case.scenario] += outcome.checked
        broken[case.scenario] += len(outcome.broken)
        examples.extend(outcome.broken[: max(0, 5 - len(examples))])
    elapsed = time.perf_counter() - started
    total, bad = sum(checked.values()), sum(broken.values())
    print(f"cases: {args.cases} (seed {args.seed}) in {elapsed:.1f} s")
    for scenario in SCENARIOS:
        kept = checked[scenario] - broken[scenario]
        print(f"  {scenario:<20} promises checked: {checked[scenario]:>6}  kept: {kept:>6}")
    print(f"promises checked: {total}, kept: {total - bad}, broken: {bad}")
    for example in examples:
        print(f"  broken: {example}")


if __name__ == "__main__":
    main()
