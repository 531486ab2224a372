"""How requests in words are heard on the labelled sets: on point, and ordinary taken as one.

    .venv/bin/python -m bench.request_sets [--set tuning|blind] [--lang en] [--show]

Prints, per language: the share of labelled requests heard as the request they make (on point),
those heard as another request, and the ordinary messages (and worries about control, which
get their card) wrongly taken as a request. Each
message goes through what the bot does: its language detected (Telegram's language_code taken to
be the set's language), then ``bot.hearing.requests.hear_request``. ``--show`` lists the tuning
set's misses with their texts (refused for the blind set: nobody tunes on it).
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict

from bot.hearing.language import detect
from bot.hearing.requests import hear_request
from content.locales import load_locales
from tests.hearing.labelled import SetName, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", dest="which", default="tuning", choices=["tuning", "blind"])
    parser.add_argument("--lang", default=None)
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args()
    which: SetName = args.which
    if args.show and which == "blind":
        parser.error("--show is for the tuning set only: nobody tunes on the blind set")
    locales = load_locales()
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    for file in ("requests", "ordinary", "worry"):
        for case in load(which, file):
            if args.lang and case.lang != args.lang:
                continue
            heard = hear_request(case.text, detect(case.text, case.lang), locales)
            count = totals[case.lang]
            count[f"{file}_n"] += 1
            if file == "requests":
                count[f"intent_{case.label}_n"] += 1
                if heard is not None and heard.request == case.label:
                    count["requests_ok"] += 1
                    count[f"intent_{case.label}_ok"] += 1
                elif heard is not None:
                    count["requests_other"] += 1
                if args.show and (heard is None or heard.request != case.label):
                    got = heard.request if heard else "nothing"
                    print(f"  MISS {case.lang} {case.label} (heard {got}): {case.text!r}")
            elif heard is not None and file == "worry":
                count["worry_taken"] += 1
                if args.show:
                    print(f"  TAKEN {case.lang} worry as {heard.request}: {case.text!r}")
            elif heard is not None:
                count["ordinary_taken"] += 1
                count[f"taken_{case.label}"] += 1
                if args.show:
                    print(f"  TAKEN {case.lang} {case.label} as {heard.request}: {case.text!r}")
    print(f"set: {which}")
    for lang, c in sorted(totals.items()):
        n, ok = c["requests_n"], c["requests_ok"]
        rate = f"{100 * ok / n:.0f}%" if n else "-"
        m, taken = c["ordinary_n"], c["ordinary_taken"]
        wrong = f"{100 * taken / m:.1f}%" if m else "-"
        print(
            f"{lang}: requests on point {ok}/{n} ({rate}), heard as another request "
            f"{c['requests_other']}; ordinary taken as a request {taken}/{m} ({wrong}); "
            f"worries taken as a request {c['worry_taken']}/{c['worry_n']}"
        )
        intents = sorted({k[7:].rsplit("_", 1)[0] for k in c if k.startswith("intent_")})
        print(
            "    " + ", ".join(f"{k} {c[f'intent_{k}_ok']}/{c[f'intent_{k}_n']}" for k in intents)
        )
        kinds = sorted(k[6:] for k in c if k.startswith("taken_"))
        if kinds:
            by_kind = ", ".join(f"{k} {c[f'taken_{k}']}" for k in kinds)
            print(f"    ordinary taken, by kind: {by_kind}")


if __name__ == "__main__":
    main()
