"""Same seed, same numbers? Run chapters' smoke profile N times and report each number's spread.

Every chapter seeds Python, NumPy and Keras from its ``seed`` parameter and turns on
TensorFlow's op determinism, so two runs on one machine should record identical model numbers.
This script checks it: it runs ``lmcourse run <chapter> --profile smoke --json`` ``--runs``
times (a fresh kernel each time), then prints, per chapter, every recorded number that was
not the same in all runs with its min, max and spread, and the runs that failed. Timings
(seconds, steps/s, tokens/s ...) are left out: they always vary.

    python benchmarks/determinism.py --runs 20                 # chapters 00-08, ~50 min
    python benchmarks/determinism.py --runs 3 --chapters 07 08 --json spread.json

Exit status 1 if a run failed or a model number varied, else 0. Not part of the test suite
(too slow); the results go to benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TIMING = re.compile(
    r"(^|_)(seconds|second|secs|time|minutes|per_s|steps_per_s|tokens_per_s|"
    r"sentences_per_s|throughput|gflops|speedup|cost_exponent|ms)($|_)"
)


def run_once(chapter: str, seed: int, out: Path) -> dict | str:
    """One smoke run's recorded results, or the error's last line."""
    cmd = [
        sys.executable,
        "-m",
        "lmcourse.cli",
        "run",
        chapter,
        "--profile",
        "smoke",
        "-p",
        f"seed={seed}",
        "--output",
        str(out),
        "--json",
        "--no-progress",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        lines = proc.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit {proc.returncode}"
    return json.loads(proc.stdout)["results"]


def spread(records: list[dict]) -> dict[str, dict[str, float]]:
    """The model numbers that differ between records: ``{name: {min, max, spread}}``."""
    varied = {}
    names = sorted(set().union(*records)) if records else []
    for name in names:
        if TIMING.search(name):
            continue
        values = [r.get(name) for r in records]
        if any(not isinstance(v, (int, float)) or isinstance(v, bool) for v in values):
            if len({json.dumps(v) for v in values}) > 1:
                varied[name] = {"values": sorted({json.dumps(v) for v in values})}
            continue
        if max(values) != min(values):
            varied[name] = {
                "min": min(values),
                "max": max(values),
                "spread": max(values) - min(values),
            }
    return varied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per chapter (default 3)")
    parser.add_argument("--chapters", nargs="+", default=[f"{i:02d}" for i in range(9)])
    parser.add_argument("--seed", type=int, default=7, help="the seed of every run (CI's is 7)")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    if args.runs < 2:
        parser.error("--runs must be at least 2: a spread needs two runs")
    report, bad = {}, False
    with tempfile.TemporaryDirectory() as tmp:
        for chapter in args.chapters:
            records, failures, start = [], [], time.perf_counter()
            for i in range(args.runs):
                got = run_once(chapter, args.seed, Path(tmp) / f"{chapter}-{i}")
                (failures if isinstance(got, str) else records).append(got)
            varied = spread(records)
            report[chapter] = {
                "runs": args.runs,
                "failed": failures,
                "varied": varied,
                "numbers": len(records[0]) if records else 0,
                "seconds": round(time.perf_counter() - start, 1),
            }
            bad |= bool(failures or varied)
            verdict = "identical" if not varied else f"{len(varied)} numbers varied"
            print(f"chapter {chapter}: {len(records)}/{args.runs} runs passed, {verdict}")
            for name, s in varied.items():
                print(f"    {name}: {s}")
            for f in failures:
                print(f"    failed: {f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
