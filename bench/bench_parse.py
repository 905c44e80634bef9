"""Silver parse benchmark: what each of `silver.parse`'s columns costs, apart from Kafka and Delta.

The generator's load-test reports (and, with `--real-copies N`, the real openFDA sample N times
under new ids) are written once as bronze rows and cached; then each run writes one column of
`silver.parse` — with whatever it is computed from, as Spark prunes the rest — into Spark's
`noop` sink, then the whole of `parse` and of `compact(parse)`. Baseline, in the same run and
the same cache: the payloads' lengths, the least any per-payload work can cost. Prints each
one's runs, the median of runs 2 on (the first is JIT-cold) and its ratio to the baseline.

Silver parses each payload more than once (the contract's schema, a schema-free parse that
refuses keys given twice, the two wrappers of `one_json_value`), and looks for values of the
wrong type with patterns over the payload: this shows which of them a change should aim at.

    .venv/bin/python bench/bench_parse.py [--reports 200000] [--real-copies 0] [--runs 4]
Figures go to docs/BENCHMARKS.md with the command that produced them.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyspark.sql import functions as F  # noqa: E402

from bench.bench_flags import arguments, bronze_of, timed  # noqa: E402
from jobs import silver  # noqa: E402
from jobs.runtime import get_spark  # noqa: E402

# silver.parse's own columns, each with what it needs: `j` is from_json alone, `_strict_json`
# the schema-free parse, `_json_object` both and `one_json_value`, `_non_text_value` from_json
# and the patterns for values of the wrong type.
PARSE_COLUMNS = ("_utf8", "_keys_decoded", "j", "_strict_json", "_lone_surrogate", "_json_object",
                 "_non_text_value", "receivedate")


def main() -> None:
    args = arguments(__doc__, runs=4)
    spark = get_spark(app_name="vigil-bench-parse")
    with tempfile.TemporaryDirectory(prefix="vigil-bench-parse-") as tmp:
        bronze, _ = bronze_of(spark, args, tmp)
        bronze = bronze.cache()
        print(f"{bronze.count():,} payloads, cached")
        parsed = silver.parse(bronze)
        runs = {"baseline: the payloads' lengths": bronze.select(F.length("payload")),
                **{f"parse: {c}": parsed.select(c) for c in PARSE_COLUMNS},
                "parse: all": parsed,
                "compact(parse)": silver.compact(parsed)}
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.runs):  # in turn, so that drift touches all alike
            for name, df in runs.items():
                times[name].append(timed(df))
        base = statistics.median(times["baseline: the payloads' lengths"][1:] or times[next(iter(times))])
        for name, seconds in times.items():
            median = statistics.median(seconds[1:] or seconds)
            print(f"{name:34s} median {median:6.2f} s ({median / base:5.1f}x)   runs "
                  + ", ".join(f"{t:.2f}" for t in seconds))
    spark.stop()


if __name__ == "__main__":
    main()
