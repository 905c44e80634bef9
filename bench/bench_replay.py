"""Replay benchmark: how fast `--replay` reads an openFDA download, and in how much memory.
Figures go to docs/BENCHMARKS.md under "## Generator".

    .venv/bin/python bench/bench_replay.py --copies 400

The download is built from the shared openFDA sample (../shared/reference/openfda-sample.jsonl),
its 49 reports repeated with fresh ids, as `{"meta": …, "results": [...]}` indented like the
bulk files, plain and zipped. Measured in the same run, each in its own process (peak memory is
the process's):
1. baseline: `json.load` of the whole file, then `orjson.dumps` of each report — what a script
   without streaming does;
2. the replay's reader (`ReplayStream`, ijson's C backend): the same reports as events;
3. the same with a surrogate escape in the file, which sends it through ijson's exact pure-Python
   backend;
4. the zipped download (the form openFDA publishes).
Nothing is delivered (the events are counted), so this is the reading, not a sink.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VIGIL_SHARED", ROOT.parent / "shared"))
SAMPLE = SHARED / "reference" / "openfda-sample.jsonl"


def build(folder: Path, copies: int, surrogate: bool) -> Path:
    reports = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    path = folder / ("download-surrogate.json" if surrogate else "download.json")
    with open(path, "w") as f:
        meta = json.dumps({"disclaimer": "benchmark", "results": {"total": copies * len(reports)}})
        f.write(f'{{\n  "meta": {meta},\n  "results": [\n')
        for c in range(copies):
            for i, report in enumerate(reports):
                report = dict(report, safetyreportid=f"{90000000 + c * len(reports) + i}")
                if surrogate and c == copies - 1 and i == 0:
                    report["companynumb"] = "\ud83d\ude37"  # written as an escaped pair
                text = json.dumps(report, indent=2)
                last = c == copies - 1 and i == len(reports) - 1
                f.write("    " + text.replace("\n", "\n    ") + ("\n" if last else ",\n"))
        f.write("  ]\n}\n")
    return path


def measure(mode: str, path: Path) -> None:
    """In a child process: read, count, print seconds, reports, bytes out and peak RSS."""
    sys.path.insert(0, str(ROOT))
    started = time.perf_counter()
    n = size = 0
    if mode == "baseline":
        import orjson

        with open(path, "rb") as f:
            for report in json.load(f)["results"]:
                size += len(orjson.dumps(report))
                n += 1
    else:
        from generators.replay import ReplayStream

        for batch in ReplayStream([path]).batches():
            n += len(batch)
            size += sum(len(e.payload) for e in batch)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "reports": n, "bytes": size, "peak_mb": peak_mb}))


def child(mode: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(path)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=400, help="copies of the 49-report sample")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure(args.child[0], Path(args.child[1]))
        return
    if not SAMPLE.exists():
        sys.exit(f"{SAMPLE} is absent: it ships in the project's shared folder (set VIGIL_SHARED)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plain = build(folder, args.copies, surrogate=False)
        escaped = build(folder, args.copies, surrogate=True)
        zipped = folder / "download.json.zip"
        with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(plain, "download.json")
        mb = plain.stat().st_size / 1e6
        zipped_mb = zipped.stat().st_size / 1e6
        print(f"download: {mb:,.1f} MB, {args.copies * 49:,} reports; zipped {zipped_mb:,.1f} MB")
        rows = [("baseline: json.load whole + orjson.dumps each", "baseline", plain),
                ("replay reader (ijson C backend)", "replay", plain),
                ("replay reader, file with a surrogate escape (pure-Python backend)", "replay", escaped),
                ("replay reader, zipped download", "replay", zipped)]
        results = {}
        print("| reading | seconds | reports/s | MB/s of JSON | peak memory MB |")
        print("|---|---:|---:|---:|---:|")
        for label, mode, path in rows:
            r = child(mode, path)
            results[label] = r
            print(f"| {label} | {r['seconds']:.2f} | {r['reports'] / r['seconds']:,.0f} | "
                  f"{mb / r['seconds']:,.1f} | {r['peak_mb']:,.0f} |")
        base, fast = results[rows[0][0]], results[rows[1][0]]
        print(f"replay reader vs baseline: {base['seconds'] / fast['seconds']:.2f}x the speed, "
              f"{fast['peak_mb'] / base['peak_mb']:.2f}x the peak memory")


if __name__ == "__main__":
    main()
