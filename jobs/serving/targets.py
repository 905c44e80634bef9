"""What the serving load copies: each Delta table, the SQL table it feeds, and that table's key.

Adding a table to the load is one line in `LOADS` — plus its staging and target tables in a new
migration and its MERGE in `sql/merge/<target>.sql`. The key and columns come from the table
contract (`jobs.tables`); the SQL tables carry the same column names.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobs import tables
from jobs.tables import Table

SCHEMA = "vigil"

# gold.alert comes from the signals issue. Until jobs/tables.py has it, this is the shape the
# serving side expects (proposed for jobs/tables.py); the load skips it while the table is absent.
ALERT = Table(
    "gold.alert",
    ", ".join((
        "alert_type STRING",  # overdose_spike | safety_signal | …
        "subject STRING",  # what the alert is about: a generic name, a drug–reaction pair, a country
        "window_start DATE",
        "window_end DATE",
        "statistic STRING",  # prr | ror | zscore | …
        "statistic_value DOUBLE",
        "threshold DOUBLE",
        "evidence_reports BIGINT",  # reports behind the statistic
        "expected_reports DOUBLE",
        "status STRING",  # open | acknowledged | closed
        "first_detected_at TIMESTAMP",
        "gold_updated_at TIMESTAMP",
    )),
    key=("alert_type", "subject", "window_start"),
    change_data_feed=True,
)

# Spark types that SQL does not get: raw bytes stay in the lake (payload_text is readable).
_SKIPPED_TYPES = ("BINARY", "MAP<")


@dataclass(frozen=True)
class Load:
    source: str  # Delta table, <layer>.<subject>
    target: str  # SQL table in schema `vigil`

    @property
    def table(self) -> Table:
        return tables.BY_NAME.get(self.source) or _PROPOSED[self.source]

    @property
    def key(self) -> tuple[str, ...]:
        return self.table.key

    @property
    def staging(self) -> str:
        return f"stg_{self.target}"

    @property
    def column_types(self) -> dict[str, str]:
        """The columns SQL receives, with their Spark types (arrays arrive as JSON text)."""
        return {name: spark_type for name, spark_type in self.table.column_types.items()
                if not spark_type.upper().startswith(_SKIPPED_TYPES)}

    @property
    def columns(self) -> list[str]:
        return list(self.column_types)


_PROPOSED = {ALERT.name: ALERT}

LOADS = (
    Load("silver.adverse_event_report", "fact_report"),
    Load("silver.adverse_event_drug", "fact_report_drug"),
    Load("silver.adverse_event_reaction", "fact_report_reaction"),
    Load("silver.quarantine", "fact_quarantine"),
    Load("gold.adverse_event_flags", "fact_flags"),
    Load("gold.drug_daily", "fact_drug_daily"),
    Load("gold.drug_reaction_daily", "fact_drug_reaction_daily"),
    Load("gold.reaction_demographic_daily", "fact_reaction_demographic_daily"),
    Load("gold.country_daily", "fact_country_daily"),
    Load("gold.alert", "fact_alert"),
)
BY_TARGET = {load.target: load for load in LOADS}

# Staging carries the change beside each row; the MERGE reads them, the target never has them.
CONTROL_COLUMNS = ("_change_type", "_commit_version", "_reject_reason")
