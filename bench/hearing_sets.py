"""Recall, false alarms and misses of the danger check on the labelled sets.

    .venv/bin/python -m bench.hearing_sets [--set tuning|blind|blind_c] [--lang en] [--show]

Prints, per language: danger recall (the reply itself gives help), worry coverage (at least a
line to /safety), false alarms on ordinary messages (help lines in the reply). ``--show`` lists
the tuning set's misses and false alarms with their texts (refused for the blind set: nobody
tunes on it).
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from typing import get_args

from bot.hearing.danger import check, explain
from content.locales import load_locales
from tests.hearing.labelled import SetName, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", dest="which", default="tuning", choices=list(get_args(SetName)))
    parser.add_argument("--lang", default=None)
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args()
    which: SetName = args.which
    if args.show and which != "tuning":
        parser.error("--show is for the tuning set only: nobody tunes on the blind set")
    locales = load_locales()
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    for file in ("danger", "worry", "ordinary"):
        for case in load(which, file):
            if args.lang and case.lang != args.lang:
                continue
            found = check(case.text, locales)
            key = f"{case.lang}"
            totals[key][f"{file}_n"] += 1
            ok = {
                "danger": found.gives_help,
                "worry": found.level != "none",
                "ordinary": not found.gives_help,
            }[file]
            totals[key][f"{file}_ok"] += ok
            totals[key][f"{file}_maybe"] += found.level == "maybe"
            if file == "danger":
                totals[key][f"cat_{case.label}_n"] += 1
                totals[key][f"cat_{case.label}_ok"] += ok
            if not ok and args.show:
                why = "; ".join(explain(case.text, locales)) if file == "ordinary" else ""
                print(f"  MISS {case.lang} {file}/{case.label}: {case.text!r} {why}")
    print(f"set: {which}")
    for lang, c in sorted(totals.items()):
        danger = f"{c['danger_ok']}/{c['danger_n']}"
        worry = f"{c['worry_ok']}/{c['worry_n']}"
        false = c["ordinary_n"] - c["ordinary_ok"]
        print(
            f"{lang}: danger recall {danger} ({c['danger_maybe']} by the learned backstop), "
            f"worry pointed {worry}, false alarms {false}/{c['ordinary_n']} "
            f"({c['ordinary_maybe']} by the backstop)"
        )
        cats = sorted({k[4:].rsplit("_", 1)[0] for k in c if k.startswith("cat_")})
        print("    " + ", ".join(f"{k} {c[f'cat_{k}_ok']}/{c[f'cat_{k}_n']}" for k in cats))


if __name__ == "__main__":
    main()
