"""The README's demo: start the local broker if none runs, then run the platform check.

Later stages (generator → bronze → silver → gold → serving) are added here as they land.
"""

from __future__ import annotations

import sys
import time

from jobs import platform_check
from jobs.runtime import RuntimeSetupError, get_spark
from jobs.settings import settings_for
from scripts.kafka_broker import DEFAULT_DATA_DIR, BrokerError, KafkaBroker


def main() -> int:
    started = time.monotonic()
    settings = settings_for("local")
    broker = None
    try:
        if settings.kafka_bootstrap is None:
            broker = KafkaBroker(data_dir=DEFAULT_DATA_DIR)
            t0 = time.monotonic()
            bootstrap = broker.start()
            print(f"demo: started a local Kafka broker on {bootstrap} in {time.monotonic() - t0:.1f} s")
            settings = settings_for("local", kafka_bootstrap=bootstrap)
        else:
            print(f"demo: using the running Kafka broker on {settings.kafka_bootstrap}")
        t0 = time.monotonic()
        spark = get_spark(settings, app_name="vigil-demo")
        seconds = time.monotonic() - t0
        print(f"demo: local SparkSession (Spark {spark.version}, Delta) ready in {seconds:.1f} s")
        print(f"demo: data under {settings.data_root}")
        rows = platform_check.run(spark, settings).collect()
    except (BrokerError, RuntimeSetupError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        if broker is not None:
            broker.stop()
    for row in rows:
        print(f"  {'ok ' if row.ok else 'FAIL'} {row.check:<32} {row.seconds:5.1f} s  {row.detail}")
    print(f"demo: finished in {time.monotonic() - started:.1f} s")
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
