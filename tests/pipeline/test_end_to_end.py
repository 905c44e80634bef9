"""The generator's demo scenario through the real local broker into every table, checked
against the generator's ground-truth manifest; and hostile events through Kafka."""

import json
import uuid
import zipfile

import pytest
from confluent_kafka import Producer
from pyspark.sql import functions as F

from generators.stream import generate
from jobs import pipeline, tables
from jobs.settings import Settings
from jobs.sources import SourceParams
from tests.conftest import shared_file
from tests.pipeline.conftest import BASE_REPORT, report

pytestmark = [pytest.mark.spark, pytest.mark.kafka, pytest.mark.slow]

# Faults that cannot be typed go to quarantine; well-formed but implausible ones are flagged.
QUARANTINED_FAULTS = {"malformed_json", "missing_required", "wrong_types", "empty_payload",
                      "invalid_utf8", "oversize"}
FLAGGED_FAULTS = {"impossible_age": "implausible age", "future_date": "report dated in the future"}
# Background reports are drawn from the reference data, whose labelled reactions include
# overdose terms (acetaminophen, opioids) and whose co-suspect drugs ignore the patient's age:
# a few percent are flagged for real reasons. These bounds catch a rule gone wrong.
MAX_BACKGROUND_OVERDOSE_SHARE = 0.05
MAX_BACKGROUND_ANOMALY_SHARE = 0.02


def produce(bootstrap, topic, events):
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                         "linger.ms": 20, "message.max.bytes": 4_000_000})
    for key, value, headers in events:
        producer.produce(topic, key=key, value=value, headers=headers)
    assert producer.flush(60) == 0


def run_pipeline(spark, kafka_broker, tmp_path, events):
    topic = f"adverse-events-{uuid.uuid4().hex[:6]}"
    produce(kafka_broker.bootstrap, topic, events)
    settings = Settings(profile="local", data_root=str(tmp_path / "data"),
                        kafka_bootstrap=kafka_broker.bootstrap, topic=topic)
    pipeline.run_available_now(spark, settings, SourceParams())
    return settings


def read(spark, settings, table):
    return spark.read.format("delta").load(settings.table_path(table.name))


@pytest.fixture(scope="module")
def demo_run(spark, kafka_broker, tmp_path_factory):
    stream = generate("demo", seed=11)
    events = list(stream)
    settings = run_pipeline(spark, kafka_broker, tmp_path_factory.mktemp("e2e"),
                            [(e.key, e.payload, e.headers) for e in events])
    return settings, events, stream.ground_truth.lines()


def test_every_event_is_in_silver_or_quarantine(spark, demo_run):
    settings, events, _ = demo_run
    counts = pipeline.reconcile(spark, settings).first()
    assert counts.bronze_events == len(events)
    assert counts.unaccounted == 0
    assert counts.in_silver + counts.quarantined == counts.bronze_events


def _quarantined_seqs(spark, settings) -> set[int]:
    raw = read(spark, settings, tables.BRONZE_RAW).select("bronze_id", "headers")
    q = read(spark, settings, tables.QUARANTINE).join(raw, "bronze_id")
    return {int(r.seq) for r in q.select(F.col("headers")["vigil_event_seq"].alias("seq")).collect()}


def test_injected_faults_are_quarantined_or_flagged(spark, demo_run):
    settings, _, truth = demo_run
    faults = [line for line in truth if line["type"] == "data_fault"]
    assert faults
    quarantined = _quarantined_seqs(spark, settings)
    flags = {r.safetyreportid: r for r in read(spark, settings, tables.FLAGS).collect()}
    for fault in faults:
        kind = fault["params"]["kind"]
        if kind in QUARANTINED_FAULTS:
            assert set(fault["event_seqs"]) <= quarantined, fault
        else:
            (rid,) = fault["safetyreportids"]
            reasons = flags[rid].anomaly_reasons
            assert any(r.startswith(FLAGGED_FAULTS[kind]) for r in reasons), (fault, reasons)
    # Nothing else is quarantined: the generator's valid events all pass.
    fault_seqs = {s for f in faults for s in f["event_seqs"]}
    assert quarantined <= fault_seqs, sorted(quarantined - fault_seqs)[:10]


def test_overdose_cluster_is_found_and_background_is_not_over_flagged(spark, demo_run):
    settings, _, truth = demo_run
    flags = read(spark, settings, tables.FLAGS)
    injected = set()
    for line in truth:
        if line["type"] not in ("followup", "duplicate"):  # those are background reports
            injected |= set(line["safetyreportids"])
        if line["type"] == "overdose_cluster":
            cluster = flags.where(F.col("safetyreportid").isin(line["safetyreportids"])).collect()
            assert len(cluster) == len(line["safetyreportids"])
            # each by its dose (structured or only as text, in mg or in tablets), whether or not it
            # names an overdose
            dose_reason = f"dose above maximum daily dose: {line['params']['drug']} "
            for r in cluster:
                assert r.is_overdose and any(x.startswith(dose_reason) for x in r.overdose_reasons), r
            reasons = [x for r in cluster for x in r.overdose_reasons]
            assert any(x.endswith("(dosage text)") for x in reasons)
            # some count tablets, which only the strength in the product name makes a dose
            assert any(x.endswith("mg per DF, from the product name)") for x in reasons)
            assert not all(any(x.startswith("overdose term") for x in r.overdose_reasons) for r in cluster)
    background = flags.where(~F.col("safetyreportid").isin(sorted(injected)))
    n = background.count()
    assert background.where("is_overdose").count() <= MAX_BACKGROUND_OVERDOSE_SHARE * n
    assert background.where("is_anomaly").count() <= MAX_BACKGROUND_ANOMALY_SHARE * n
    # the background's tablets (half the doses of a product named with its strength) are all
    # within label: none is flagged by the dose its strength gives
    from_tablets = background.select(F.explode(F.concat("overdose_reasons", "anomaly_reasons")).alias("r")) \
        .where(F.col("r").contains("per DF, from the product name"))
    assert from_tablets.count() == 0, from_tablets.limit(5).collect()


def test_follow_ups_win_and_duplicates_collapse(spark, demo_run):
    settings, events, truth = demo_run
    latest = {}
    for e in events:
        try:
            body = json.loads(e.payload)
            latest[body["safetyreportid"]] = max(latest.get(body["safetyreportid"], 0),
                                                 int(body.get("safetyreportversion") or 1))
        except (ValueError, KeyError, TypeError):
            continue
    followed = next(line for line in truth if line["type"] == "followup")["safetyreportids"]
    stored = {r.safetyreportid: r.safetyreportversion
              for r in read(spark, settings, tables.REPORT)
              .where(F.col("safetyreportid").isin(followed)).collect()}
    assert stored == {rid: latest[rid] for rid in followed if rid in stored}
    assert len(stored) >= 0.9 * len(followed)  # the rest were turned into faults
    reports = read(spark, settings, tables.REPORT)
    assert reports.count() == reports.select("safetyreportid").distinct().count()


def test_hostile_events_through_kafka_are_quarantined_by_rule_and_the_stream_goes_on(
        spark, kafka_broker, tmp_path):
    valid = json.dumps(report(safetyreportid="30000001")).encode()
    two_reports = json.dumps(report(safetyreportid="30000005")) + "\n" + json.dumps(
        report(safetyreportid="30000006"))  # a producer's batch sent as one event
    hostile = {  # case: (payload, the rule it breaks)
        "truncated": (b'{"safetyreportid": "30000002", "patient": {', "payload_is_json_object"),
        "two reports in one event": (two_reports.encode(), "payload_is_json_object"),
        "wrong type": (json.dumps(report(safetyreportid="30000003", serious=1)).encode(),
                       "fields_match_contract"),
        "no id": (json.dumps(report(safetyreportid=None)).encode(), "report_id_present"),
        "2 MB": (json.dumps(report(safetyreportid="30000004",
                                   sender={"senderorganization": "x" * 2_000_000})).encode(),
                 "payload_within_size_limit"),
        "invalid UTF-8": (json.dumps(BASE_REPORT).encode().replace(b"Tylenol", b"Tyl\xe9nol"),
                          "payload_is_utf8"),
        "empty": (b"", "payload_present"),
        # which id is meant? Spark's readers disagree: from_json keeps the last, the JSON path
        # functions the first
        "an id given twice": (b'{"safetyreportid": "30000007", ' + valid[1:], "payload_keys_unique"),
        "half a surrogate pair": (valid.replace(b"Nausea", b"Nausea \\ud800"),
                                  "payload_escapes_are_characters"),
    }
    with_mark = b"\xef\xbb\xbf" + json.dumps(report(safetyreportid="30000008")).encode()
    # Kafka lets a header key repeat (a tracer's hops each add theirs): bronze keeps the last
    repeated_headers = [("hop", b"a"), ("hop", b"b"), ("bytes", b"\xff")]
    events = ([(None, value, {"case": case}) for case, (value, _) in hostile.items()]
              + [(b"30000001", valid, {}), (b"30000008", with_mark, {}),
                 (b"30000009", json.dumps(report(safetyreportid="30000009")).encode(), repeated_headers)])
    settings = run_pipeline(spark, kafka_broker, tmp_path, events)
    raw = read(spark, settings, tables.BRONZE_RAW).select("bronze_id", "headers")
    q = read(spark, settings, tables.QUARANTINE).join(raw, "bronze_id")
    got = {r.headers["case"]: r.broken_rules for r in q.collect()}
    assert got == {case: [rule] for case, (_, rule) in hostile.items()}
    stored = sorted(r.safetyreportid for r in read(spark, settings, tables.REPORT).collect())
    assert stored == ["30000001", "30000008", "30000009"]
    assert raw.where(F.col("headers")["hop"].isNotNull()).first().headers == {
        "hop": "b", "bytes": "\ufffd"}
    # the reconciliation reads each event's id as silver does: the one after a byte order mark too
    counts = pipeline.reconcile(spark, settings).first()
    assert (counts.bronze_events, counts.in_silver, counts.quarantined, counts.unaccounted) == (
        len(events), 3, len(hostile), 0)


def test_daily_aggregates_count_every_flagged_report_once(spark, demo_run):
    """Gold's aggregates query runs after the flags (an availableNow query reads only what its
    source holds when it starts): every report is counted once per day and country."""
    settings, _, _ = demo_run
    flags = read(spark, settings, tables.FLAGS)
    by_country = read(spark, settings, tables.COUNTRY_DAILY)
    assert by_country.agg(F.sum("reports")).first()[0] == flags.count() > 0
    overdoses = flags.where("is_overdose").count()
    assert by_country.agg(F.sum("overdoses")).first()[0] == overdoses > 0
    assert read(spark, settings, tables.DRUG_DAILY).count() > 0


def test_landing_files_through_the_staged_pipeline_each_line_once(spark, tmp_path):
    """The landing-folder source: real openFDA reports as JSON-lines files — one as Windows
    tools write them (a byte order mark, CRLF), one with a line that is not JSON — into every
    table; a file still being written waits, and the next run takes it and nothing twice."""
    lines = shared_file("reference/openfda-sample.jsonl").read_bytes().splitlines()
    settings = Settings(profile="local", data_root=str(tmp_path / "data"), kafka_bootstrap=None)
    landing = tmp_path / "data" / "landing" / "2026" / "11"
    landing.mkdir(parents=True)
    (landing / "a.jsonl").write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(lines[:20]) + b"\r\n")
    # a Latin-1 byte where UTF-8 was due: quarantined, and kept in bronze byte for byte
    not_utf8 = lines[0].replace(b'"safetyreportid": "', b'"x": "Tyl\xe9nol", "safetyreportid": "9', 1)
    (landing / "b.jsonl").write_bytes(b"\n".join([*lines[20:40], b"not json", not_utf8]) + b"\n")
    (landing / "c.jsonl.tmp").write_bytes(b"\n".join(lines[40:]))  # still being written
    files = SourceParams(source="files", max_files_per_trigger=1)

    pipeline.run_available_now(spark, settings, files)
    counts = pipeline.reconcile(spark, settings).first()
    assert (counts.bronze_events, counts.quarantined, counts.unaccounted) == (42, 2, 0)
    raw = read(spark, settings, tables.BRONZE_RAW).select("bronze_id", F.col("payload").alias("raw"))
    quarantined = read(spark, settings, tables.QUARANTINE).join(raw, "bronze_id")
    assert sorted((r.broken_rules, bytes(r.raw)) for r in quarantined.collect()) == [
        (["payload_is_json_object"], b"not json"), (["payload_is_utf8"], not_utf8)]
    report_ids = [json.loads(line)["safetyreportid"] for line in lines]
    stored = {r.safetyreportid for r in read(spark, settings, tables.REPORT).collect()}
    assert stored == set(report_ids[:40])  # the first line of a.jsonl, after its mark, too

    (landing / "c.jsonl.tmp").rename(landing / "c.jsonl")
    pipeline.run_available_now(spark, settings, files)
    counts = pipeline.reconcile(spark, settings).first()
    assert (counts.bronze_events, counts.quarantined, counts.unaccounted) == (51, 2, 0)
    assert read(spark, settings, tables.REPORT).count() == len(set(report_ids)) == 49
    assert read(spark, settings, tables.FLAGS).count() == 49


def test_a_replayed_openfda_download_lands_whole_through_kafka(spark, kafka_broker, tmp_path):
    """What a safety team does with real data: `python -m generators --replay` of an openFDA bulk
    download (a zip holding `{"meta": …, "results": […]}`) into the broker, then the pipeline.
    Every report lands in silver, none in quarantine, each keyed to one partition by its id."""
    from tests.generators.test_cli import cli
    from tests.generators.test_replay import openfda_response

    lines = shared_file("reference/openfda-sample.jsonl").read_bytes().splitlines()
    reports = [json.loads(line) for line in lines if line.strip()]
    download = tmp_path / "drug-event-0001-of-0001.json.zip"
    with zipfile.ZipFile(download, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("drug-event-0001-of-0001.json", openfda_response(reports))
    topic = f"replay-{uuid.uuid4().hex[:6]}"
    sent = cli("--replay", str(download), "--sink", "kafka", "--bootstrap", kafka_broker.bootstrap,
               "--topic", topic, "--json", tmp_path=tmp_path)
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["sent"] == len(reports)

    settings = Settings(profile="local", data_root=str(tmp_path / "data"),
                        kafka_bootstrap=kafka_broker.bootstrap, topic=topic)
    pipeline.run_available_now(spark, settings, SourceParams())
    counts = pipeline.reconcile(spark, settings).first()
    assert (counts.bronze_events, counts.quarantined, counts.unaccounted) == (len(reports), 0, 0)
    stored = read(spark, settings, tables.REPORT).select("safetyreportid", "safetyreportversion")
    # the sample holds one version of each of its 49 reports
    assert {(r.safetyreportid, r.safetyreportversion) for r in stored.collect()} == {
        (r["safetyreportid"], int(r.get("safetyreportversion", 1))) for r in reports}
    drugs = read(spark, settings, tables.DRUG).count()
    assert drugs == sum(len(r["patient"]["drug"]) for r in reports)
    keyed = read(spark, settings, tables.BRONZE_RAW).groupBy("key").agg(
        F.countDistinct("partition").alias("partitions"), F.count("*").alias("events"))
    assert keyed.where("key IS NULL OR partitions > 1").count() == 0
