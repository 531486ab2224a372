"""What hearing a message costs: the danger check, the request check and the card match on a
4,096-character message,
and the memory the language detector adds (lingua, low-accuracy mode, five languages besides
ours, against py3langid in the same run).

    .venv/bin/python -m bench.hearing [--repeat 200]

Each detector is loaded in a fresh process and measured by its resident memory before and
after. The figures print with how busy the rest of the machine was (the load average per core
and the other processes' CPU share during the run): a figure taken on a busy machine says so.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SAMPLE = (
    "We talked about his work and the weekend plans, and he listened for a while, but then he "
    "went quiet again and said he was fine. I don't know what to do when he shuts down like that. "
)
_DETECTOR_SCRIPT = """
import sys
def rss(): return int(open('/proc/self/statm').read().split()[1]) * 4096 / 1e6
before = rss()
if sys.argv[1] == 'lingua':
    from bot.hearing.language import detector
    detector().compute_language_confidence_values('he went quiet again tonight')
elif sys.argv[1] == 'model':
    from bot.hearing.model import load_model
    load_model().heard('he went quiet again tonight')
else:
    import py3langid
    py3langid.classify('he went quiet again tonight')
print(rss() - before)
"""


def _busy_cpu() -> tuple[float, float]:
    """(total jiffies, idle jiffies) of the whole machine."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return float(sum(fields)), float(fields[3] + fields[4])


def _detector_mb(which: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _DETECTOR_SCRIPT, which], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    from bot.cards import match_text
    from bot.hearing.danger import check
    from bot.hearing.language import detect
    from bot.hearing.model import load_model
    from bot.hearing.requests import hear_request
    from content import default_library
    from content.locales import default_locales

    locales, library = default_locales(), default_library()
    message = (SAMPLE * 40)[:4096]
    warm = time.perf_counter()
    check("hello", locales), detect("hello"), match_text("hello", library)
    hear_request("hello", "en", locales)
    loading = (time.perf_counter() - warm) * 1000
    start = time.perf_counter()
    check(message, locales)
    hear_request(message, detect(message), locales)
    match_text(message, library)
    first = (time.perf_counter() - start) * 1000
    total0, idle0 = _busy_cpu()
    own0 = time.process_time()
    timings = []
    for i in range(args.repeat):
        text = message[: 4096 - (i % 7)]  # a new text each time: no cache of the whole message
        t0 = time.perf_counter()
        check(text, locales)
        hear_request(text, detect(text), locales)
        match_text(text, library)
        timings.append((time.perf_counter() - t0) * 1000)
    total1, idle1 = _busy_cpu()
    own = time.process_time() - own0
    busy = (total1 - total0) - (idle1 - idle0)
    ticks = os.sysconf("SC_CLK_TCK")
    others = max(0.0, busy / ticks - own) / max(1e-9, (total1 - total0) / ticks)
    timings.sort()
    print(
        f"machine: load {os.getloadavg()[0] / (os.cpu_count() or 1):.2f} per core; "
        f"other processes used {others:.0%} of the CPU during the run"
    )
    print(f"loading the lexicons, the detector and the card index once: {loading:.0f} ms")
    print(
        f"4,096-character message, danger check + language + request + card match: "
        f"first (words not cached) {first:.1f} ms, "
        f"median {statistics.median(timings):.2f} ms, p95 {timings[int(0.95 * len(timings))]:.2f} "
        f"ms over {args.repeat} (aim: under 20 ms)"
    )
    backstop: list[float] = []
    model = load_model()
    for i in range(args.repeat):
        t0 = time.perf_counter()
        model.heard(message[: 4096 - (i % 7)])
        backstop.append((time.perf_counter() - t0) * 1000)
    print(
        f"  of which the learned backstop (features and the linear model): median "
        f"{statistics.median(backstop):.2f} ms"
    )
    lingua, langid = _detector_mb("lingua"), _detector_mb("py3langid")
    print(
        f"detector memory: lingua (low accuracy, 8 languages) {lingua:.0f} MB, "
        f"py3langid {langid:.0f} MB (aim: under 100 MB)"
    )
    print(f"learned backstop memory (NumPy and the weights): {_detector_mb('model'):.0f} MB")


if __name__ == "__main__":
    main()
