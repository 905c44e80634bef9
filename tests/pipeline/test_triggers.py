"""The daily aggregates run on their own trigger beside the streams: each run recomputes the
days it touches, on the same cores the latency-critical flags need (docs/BENCHMARKS.md,
session 7), and the dashboards that read them refresh in minutes."""

import pytest

from jobs import pipeline


def test_aggregates_take_their_own_interval_beside_a_processing_time_stream():
    stream = {"processingTime": "10 seconds"}
    assert pipeline.aggregates_trigger(stream, "1 minute") == {"processingTime": "1 minute"}


@pytest.mark.parametrize("unset", ["", "  ", None])
def test_without_one_the_aggregates_follow_the_stream(unset):
    stream = {"processingTime": "10 seconds"}
    assert pipeline.aggregates_trigger(stream, unset) == stream


def test_a_run_that_ends_ends_its_aggregates_too():
    assert pipeline.aggregates_trigger({"availableNow": True}, "1 minute") == {"availableNow": True}


@pytest.mark.parametrize("bad", ["availableNow", "soon"])
def test_an_aggregates_trigger_must_be_an_interval(bad):
    with pytest.raises(ValueError):
        pipeline.aggregates_trigger({"processingTime": "10 seconds"}, bad)


INTERVALS = ["5 seconds", "1 second", "0.5 seconds", "500 milliseconds", "1 minute", "2 HOURS",
             "1 day", "interval 10 seconds", "1 minute 30 seconds"]


@pytest.mark.parametrize("interval", INTERVALS)
def test_a_trigger_is_available_now_or_an_interval(interval):
    assert pipeline.parse_trigger(" availableNow ") == {"availableNow": True}
    assert pipeline.parse_trigger(interval) == {"processingTime": interval}


@pytest.mark.parametrize("bad", ["5 sec", "5s", "5", "5 parsecs", "-5 seconds", "1 month", "now"])
def test_a_trigger_spark_would_refuse_is_refused_before_spark_starts(bad, monkeypatch):
    import jobs.runtime

    def no_spark(*args, **kwargs):
        raise AssertionError("Spark was started")

    monkeypatch.setattr(jobs.runtime, "get_spark", no_spark)
    with pytest.raises(ValueError, match="unknown trigger"):
        pipeline.run_stage("silver", {"trigger": bad})


@pytest.mark.spark
def test_spark_takes_every_interval_the_check_lets_through(spark):
    writer = spark.readStream.format("rate").load().writeStream
    for interval in INTERVALS:
        writer.trigger(processingTime=interval)  # raises on what Spark cannot read


@pytest.mark.spark
def test_gold_starts_its_aggregates_query_on_their_trigger(spark, fresh_settings):
    queries = pipeline.start_gold(spark, fresh_settings, {"processingTime": "2 seconds"},
                                  {"processingTime": "1 minute"})
    try:
        intervals = {q.name: q._jsq.streamingQuery().trigger().intervalMs() for q in queries}
    finally:
        for q in queries:
            q.stop()
    assert intervals == {"gold": 2_000, "gold_aggregates": 60_000}
