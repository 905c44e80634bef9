"""Builds openFDA-shaped reports fast, from fragments prepared once per run.

A report is assembled from shared, pre-built fragments: a patient, drug entries, a list of
further drugs, reactions with outcomes (drawn per report) and the seriousness they imply, and
an origin (country and primary source), each kept as serialized JSON bytes.

One builder, `build_bytes`, joins the JSON bytes (no dict per report); background reports are
its hot path, and the scenario's reports (overdoses, signals, spikes) pass it overrides.
`report` parses its bytes where a dict is needed (data faults, follow-ups).

Per-drug fragments are built on first use, each from a generator seeded by (run seed, drug), so
output never depends on the order in which drugs first appear. Fragments are shared between
reports: never mutate a report dict in place; copy what you change.
"""

from __future__ import annotations

import functools
import random
from typing import NamedTuple

import orjson

from generators.clock import DayStrings, shared_days
from generators.drug_entries import build_entries, overdose_entry
from generators.patients import POOL_BITS, build_patient_pool
from generators.pools import build_pools
from generators.reactions import (
    FATAL,
    MILD,
    OUTCOME_CODES,
    OUTCOME_TABLE_BITS,
    TERM_TABLE_BITS,
    TYPICALLY_SERIOUS,
    ReactionCatalogue,
)
from generators.reference import OVERDOSE_PTS, ReferenceData, load_reference
from generators.sampling import TABLE_BITS, TABLE_SIZE, mapping_table, weighted_table

SENDER = {"sendertype": "2", "senderorganization": "FDA-Public Use"}
RECEIVER = {"receivertype": "6", "receiverorganization": "FDA"}
# Injected overdoses that name no overdose term: the dose alone shows them.
OVERDOSE_DOSE_ONLY_SHARE = 0.15
OVERDOSE_TERM_WEIGHTS = {
    "Overdose": 40, "Intentional overdose": 18, "Accidental overdose": 15,
    "Toxicity to various agents": 15, "Poisoning": 4, "Poisoning deliberate": 4,
    "Prescribed overdose": 2, "Accidental poisoning": 2,
}
# table sizes are powers of two, so an index is one getrandbits(k) call
ENTRY_BITS = 5
ENTRY_VARIANTS = 1 << ENTRY_BITS  # pre-built suspect entries per drug
COMPANION_VARIANTS = 8  # pre-built entries per drug and role when it is not the primary suspect
OTHER_BITS = 12
OTHER_DRUG_LISTS = 1 << OTHER_BITS  # pre-built lists of further drugs (concomitant, …)
LIST_BLOCK = 64
ORIGIN_BITS = 13
ORIGINS = 1 << ORIGIN_BITS  # pre-built (country, occurcountry, primarysource) draws
START_DATE_SPREAD_DAYS = 720  # drug start dates go back at most this far
_FOLLOW_UP_OUTCOMES = (0, 0, 0, 1, 1, 2, 3)  # indices of outcomes 1 1 1 2 2 3 4
_dumps = orjson.dumps


class Origin(NamedTuple):
    """Where a report comes from and how: drawn together, as one pre-built fragment."""

    country: str
    occurcountry: str | None
    primarysource: dict
    json: bytes  # ',"occurcountry":…,"primarysourcecountry":…,"primarysource":…,"sender":…,"receiver":…'
    reporttype: str


class SuspectEntries(NamedTuple):
    entries: list[dict]
    heads: list[bytes]  # each entry's JSON without its closing brace
    start_lags: list[int | None]


def _origin_json(country: str, occur: str | None, source: dict) -> bytes:
    head = b',"occurcountry":' + _dumps(occur) if occur is not None else b""
    return (head + b',"primarysourcecountry":' + _dumps(country) + b',"primarysource":'
            + _dumps(source) + b',"sender":' + _dumps(SENDER) + b',"receiver":' + _dumps(RECEIVER))


def _seriousness_json(flags: tuple[str, ...]) -> bytes:
    serious = "1" if flags else "2"
    fields = {"serious": serious, **dict.fromkeys(flags, "1"), "fulfillexpeditecriteria": serious}
    return _dumps(fields)[1:-1]


_DEATH_SERIOUSNESS = _seriousness_json(("seriousnessdeath",))  # what a follow-up's death sets


class ReportFactory:
    """Everything needed to build reports for one run; make it once, then call the builders."""

    def __init__(self, ref: ReferenceData, seed: int, days: DayStrings):
        # pools depend only on the seed, so every worker of a run builds the same ones
        rng = random.Random(f"vigil-pools:{seed}")
        mix = ref.report_mix
        self.seed = seed
        self.days = days
        self.drugs = ref.drugs
        self.drug_index = {d.generic_name: i for i, d in enumerate(ref.drugs)}
        self.drug_table = weighted_table(list(range(len(ref.drugs))),
                                         [d.report_weight for d in ref.drugs])
        self.reactions = ReactionCatalogue(ref)
        self._missing = mix["missing"]
        self._actions = mapping_table(mix["actiondrug"])
        self._active_share = float(mix["active_substance_share"])
        self._roles = [int(c) for c in mapping_table(mix["other_drug_characterization"])]
        self._drug_count = mapping_table({int(k): v for k, v in mix["drugs_per_report"].items()})
        self._suspects: list[SuspectEntries | None] = [None] * len(ref.drugs)
        self._companions: dict[tuple[int, str], list[dict]] = {}
        self._term_tables: list[list[int] | None] = [None] * len(ref.drugs)

        demo = ref.demographics
        self._profiles = demo["profiles"]
        self._adult_weight = demo["adult_weight_kg"]
        self._age_group_share = float(mix["age_group_share"])
        self._profile_of = [demo.get("drug_profiles", {}).get(d.generic_name)
                            or demo["class_profiles"][d.drug_class] for d in ref.drugs]
        self._patient_pools: dict[str, tuple[list[dict], list[bytes]]] = {}

        self.qualifications = mapping_table(mix["qualification"])
        self.report_types = mapping_table(mix["reporttype"])
        self.manufacturer_share = float(mix["manufacturer_report_share"])
        self.missing_occurcountry = float(self._missing["occurcountry"])
        self.missing_start_date = float(self._missing["drug_start_date"])

        pools = build_pools(seed)
        self.literature = pools.literature_references
        self.makers = [
            [pools.manufacturers[rng.randrange(len(pools.manufacturers))]
             for _ in range(rng.randint(1, 3))]
            for _ in ref.drugs
        ]
        self.makers_json = [[_dumps(m.name) for m in makers] for makers in self.makers]
        assert set(OVERDOSE_TERM_WEIGHTS) <= set(OVERDOSE_PTS)
        self.overdose_terms = weighted_table(
            [self.reactions.term_index(pt) for pt in OVERDOSE_TERM_WEIGHTS],
            list(OVERDOSE_TERM_WEIGHTS.values()), 1024,
        )
        self.origins = self._origins(mix, rng)
        self.others: list[tuple[dict, ...] | None] = [None] * OTHER_DRUG_LISTS
        self.others_json: list[bytes | None] = [None] * OTHER_DRUG_LISTS
        self.build_bytes = self._make_bytes_builder()

    # --- fragments
    def _origins(self, mix: dict, rng: random.Random) -> list[Origin]:
        """Country, occurcountry (sometimes absent) and primary source, drawn together."""
        origins = []
        sources: dict[tuple[str, str], dict] = {}
        for country in mapping_table(mix["countries"], ORIGINS):
            occur = None if rng.random() < self.missing_occurcountry else country
            qualification = self.qualifications[rng.randrange(TABLE_SIZE)]
            if rng.random() < 0.03:
                reference = self.literature[rng.randrange(len(self.literature))]
                source = {"reportercountry": country, "qualification": "1",
                          "literaturereference": reference}
            else:
                source = sources.setdefault((country, qualification), {
                    "reportercountry": country, "qualification": qualification})
            report_type = self.report_types[rng.randrange(TABLE_SIZE)]
            origins.append(Origin(country, occur, source, _origin_json(country, occur, source),
                                  report_type))
        rng.shuffle(origins)
        return origins

    def origin_in(self, rng: random.Random, country: str) -> Origin:
        """Where a report comes from when the scenario fixes the country."""
        qualification = self.qualifications[int(rng.random() * TABLE_SIZE)]
        report_type = self.report_types[int(rng.random() * TABLE_SIZE)]
        source = {"reportercountry": country, "qualification": qualification}
        return Origin(country, country, source, _origin_json(country, country, source), report_type)

    def _rng_for(self, what: str, *index) -> random.Random:
        return random.Random(f"vigil:{what}:{self.seed}:{':'.join(map(str, index))}")

    def patients(self, drug_i: int) -> tuple[list[dict], list[bytes]]:
        """The patient pool of a drug's users, and each patient's JSON without its closing brace."""
        name = self._profile_of[drug_i]
        pool = self._patient_pools.get(name)
        if pool is None:
            dicts = build_patient_pool(self._profiles[name], self._adult_weight, self._missing,
                                       self._age_group_share, self._rng_for("patients", name))
            # ready for "reaction" and "drug" to follow
            jsons = [_dumps(p)[:-1] + (b"," if p else b"") for p in dicts]
            pool = self._patient_pools[name] = (dicts, jsons)
        return pool

    def _entries(self, drug_i: int, characterization: str, variants: int) -> list[dict]:
        return build_entries(self.drugs[drug_i], characterization,
                             self._rng_for("entries", characterization, drug_i), self._missing,
                             self._active_share, self._actions, variants)

    def suspect_entries(self, drug_i: int) -> SuspectEntries:
        """The primary suspect's entries: dicts, their JSON without the closing brace, and each
        variant's drug start date in days before the receive date (None: no start date)."""
        built = self._suspects[drug_i]
        if built is None:
            entries = self._entries(drug_i, "1", ENTRY_VARIANTS)
            rng = self._rng_for("start-dates", drug_i)
            lags = [None if rng.random() < self.missing_start_date
                    else int(rng.random() * rng.random() * START_DATE_SPREAD_DAYS)
                    for _ in entries]
            built = self._suspects[drug_i] = SuspectEntries(
                entries, [_dumps(e)[:-1] for e in entries], lags)
        return built

    def other_drugs(self, k: int) -> tuple[tuple[dict, ...], bytes]:
        """List k of the drugs after the primary suspect (most are empty), and its JSON."""
        if self.others[k] is None:
            block = k // LIST_BLOCK
            rng = self._rng_for("others", block)
            for n in range(block * LIST_BLOCK, (block + 1) * LIST_BLOCK):
                entries = []
                for _ in range(self._drug_count[rng.randrange(TABLE_SIZE)] - 1):
                    drug_i = self.drug_table[rng.randrange(TABLE_SIZE)]
                    role = str(self._roles[rng.randrange(TABLE_SIZE)])
                    pool = self._companions.get((drug_i, role))
                    if pool is None:
                        pool = self._companions[(drug_i, role)] = self._entries(
                            drug_i, role, COMPANION_VARIANTS)
                    entries.append(pool[rng.randrange(COMPANION_VARIANTS)])
                self.others[n] = tuple(entries)
                self.others_json[n] = b"".join(b"," + _dumps(e) for e in entries)
        return self.others[k], self.others_json[k]

    def term_table(self, drug_i: int) -> list[int]:
        table = self._term_tables[drug_i]
        if table is None:
            table = self._term_tables[drug_i] = self.reactions.term_table(
                self.drugs[drug_i].labelled_reactions)
        return table

    def pick_drug(self, rng: random.Random) -> int:
        return self.drug_table[rng.getrandbits(TABLE_BITS)]

    def _make_bytes_builder(self):
        """The report builder, as a closure so that every table is a fast local.

        build_bytes(rnd, bits, report_id, arrival_day, receive_day, drug_i, origin=None,
                    extra_terms=(), force_serious=False, first=None) -> JSON bytes
        `rnd`/`bits` are the caller's random() and getrandbits(); days are day numbers; the
        keywords are the scenario's overrides (see `report_bytes`).
        """
        days = self.days
        first_day = days.first
        span = days.last - first_day + 1
        day_bytes = days.as_bytes

        # per-day fragments, built on first use: each date a report carries is one lookup
        received: list[bytes | None] = [None] * span  # after the id … transmissiondate's quote
        transmitted: list[bytes | None] = [None] * span  # the date … reporttype's quote
        started: list[bytes | None] = [None] * span  # ',"drugstartdate":…' closing the entry
        died: list[bytes | None] = [None] * span  # '"patientdeath":{…},'

        def received_on(r: int) -> bytes:
            d = day_bytes(first_day + r)
            received[r] = (b'","safetyreportversion":"1","receivedate":"' + d
                           + b'","receivedateformat":"102","receiptdate":"' + d
                           + b'","receiptdateformat":"102","transmissiondate":"')
            return received[r]

        def transmitted_on(r: int) -> bytes:
            transmitted[r] = (day_bytes(first_day + r)
                              + b'","transmissiondateformat":"102","reporttype":"')
            return transmitted[r]

        def started_on(r: int) -> bytes:
            started[r] = (b',"drugstartdate":"' + day_bytes(first_day + r)
                          + b'","drugstartdateformat":"102"}')
            return started[r]

        def died_on(r: int) -> bytes:
            died[r] = (b'"patientdeath":{"patientdeathdate":"' + day_bytes(first_day + r)
                       + b'","patientdeathdateformat":"102"},')
            return died[r]

        def origin_parts(o: Origin) -> tuple[bytes, bytes, bytes]:
            # reporttype's value and the seriousness that follows it; the origin's fields; the
            # company number's country prefix
            return o.reporttype.encode() + b'",', o.json, f"{o.country}-".encode()

        origins = [origin_parts(o) for o in self.origins]
        suspect_entries = self.suspect_entries
        suspects = self._suspects
        others_json = self.others_json
        other_drugs = self.other_drugs
        term_tables = self._term_tables
        term_table = self.term_table
        manufacturer_share = self.manufacturer_share
        makers_of = self.makers
        maker_codes = [[f"{m.code}-".encode() for m in makers] for makers in self.makers]
        makers_json = self.makers_json
        patients = self.patients
        patient_json = [None] * len(self.drugs)

        cat = self.reactions
        outcomes = cat.outcomes  # per term: (fragment JSON, severity) entries
        count_table = cat.count_table
        # seriousness follows the outcomes: a death makes the report serious with
        # seriousnessdeath; a typically serious term usually does; otherwise it sometimes is
        serious_share = [0.0, 0.0]  # by the worst reaction when nobody died
        serious_share[MILD] = cat.serious_otherwise
        serious_share[TYPICALLY_SERIOUS] = cat.serious_if_typical
        death_heads = (_seriousness_json(("seriousnessdeath",)),
                       _seriousness_json(("seriousnessdeath", "seriousnesshospitalization")))
        criteria_heads = [_seriousness_json((c,)) for c in cat.criteria]
        not_serious = _seriousness_json(())
        join = b"".join

        def build_bytes(rnd, bits, report_id: str, arrival_day: int, receive_day: int,
                        drug_i: int, origin: Origin | None = None,
                        extra_terms: tuple[int, ...] = (), force_serious: bool = False,
                        first: dict | None = None) -> bytes:
            r = receive_day - first_day
            rid = report_id.encode()
            type_and_after, origin_json, country_prefix = (
                origins[bits(ORIGIN_BITS)] if origin is None else origin_parts(origin))
            if first is None:
                n = bits(ENTRY_BITS)
                suspect = suspects[drug_i] or suspect_entries(drug_i)
                lag = suspect.start_lags[n]
                entry = suspect.heads[n]
                entry_end = b"}" if lag is None else (started[r - lag] or started_on(r - lag))
            else:
                entry, entry_end = _dumps(first)[:-1], b"}"
            n = bits(OTHER_BITS)
            others = others_json[n]
            if others is None:
                others = other_drugs(n)[1]

            # reactions: terms from the drug's table (labelled and background), each with an
            # outcome from its own table; table sizes are powers of two, so an index is one
            # getrandbits — far cheaper than int(random() * size) in this, the hottest loop
            terms = term_tables[drug_i] or term_table(drug_i)
            chosen = [*extra_terms]
            reactions = []
            worst = MILD
            for term in chosen:  # forced terms (scenarios) first
                fragment, severity = outcomes[term][bits(OUTCOME_TABLE_BITS)]
                reactions.append(fragment)
                if severity > worst:
                    worst = severity
            for _ in range(count_table[bits(TABLE_BITS)]):
                term = terms[bits(TERM_TABLE_BITS)]
                if term not in chosen:
                    chosen.append(term)
                    fragment, severity = outcomes[term][bits(OUTCOME_TABLE_BITS)]
                    reactions.append(fragment)
                    if severity > worst:
                        worst = severity
            if worst == FATAL:
                seriousness = death_heads[rnd() < 0.3]
            elif force_serious or rnd() < serious_share[worst]:
                seriousness = criteria_heads[bits(TABLE_BITS)]
            else:
                seriousness = not_serious

            u = rnd()
            if u < manufacturer_share:
                m = int(u / manufacturer_share * len(makers_of[drug_i]))
                # the serial repeats the id's last digits: unique, and costs no random draw
                number = join((country_prefix, maker_codes[drug_i][m], day_bytes(receive_day)[:4],
                               rid[-6:]))
                company = (b',"companynumb":"', number,
                           b'","duplicate":"1","reportduplicate":{"duplicatesource":',
                           makers_json[drug_i][m], b',"duplicatenumb":"', number, b'"}')
            else:
                company = ()
            pool = patient_json[drug_i]
            if pool is None:
                pool = patient_json[drug_i] = patients(drug_i)[1]
            patient = pool[bits(POOL_BITS)]
            if worst == FATAL and rnd() < 0.5:
                patient += died[r] or died_on(r)
            a = arrival_day - first_day
            return join((
                b'{"safetyreportid":"', rid, received[r] or received_on(r),
                transmitted[a] or transmitted_on(a), type_and_after, seriousness, origin_json,
                *company, b',"patient":', patient, b'"reaction":[', b",".join(reactions),
                b'],"drug":[', entry, entry_end, others, b"]}}",
            ))

        return build_bytes

    # --- reports for scenarios
    def report_bytes(self, rng: random.Random, report_id: str, arrival_day: int,
                     receive_day: int, drug_i: int, *, country: str | None = None,
                     extra_terms: tuple[int, ...] = (), suspect_entry: dict | None = None,
                     force_serious: bool = False) -> bytes:
        """One report whose primary suspect is drug `drug_i`, as JSON bytes.

        `country` fixes where it happened; `extra_terms` (term indices) are reactions it must
        carry; `suspect_entry` replaces the primary suspect's entry; `force_serious` makes it
        serious.
        """
        origin = self.origin_in(rng, country) if country is not None else None
        return self.build_bytes(rng.random, rng.getrandbits, report_id, arrival_day, receive_day,
                                drug_i, origin, extra_terms, force_serious, suspect_entry)

    def report(self, rng: random.Random, report_id: str, arrival_day: int, receive_day: int,
               drug_i: int, **overrides) -> dict:
        """`report_bytes` as a dict, for what changes a report (data faults, follow-ups)."""
        return orjson.loads(self.report_bytes(rng, report_id, arrival_day, receive_day, drug_i,
                                              **overrides))

    def overdose_report(self, rng: random.Random, report_id: str, arrival_day: int,
                        receive_day: int, drug_i: int, country: str) -> bytes:
        """An overdose of one drug: a single dose above its max daily dose, and overdose terms
        — except in a share of reports that give only the dose (where the drug has a maximum),
        which the pipeline's dose rule must find alone."""
        drug = self.drugs[drug_i]
        terms = [self.overdose_terms[int(rng.random() * 1024)]]
        if rng.random() < 0.35:
            second = self.overdose_terms[int(rng.random() * 1024)]
            if second not in terms:
                terms.append(second)
        if drug.max_daily_dose is not None and rng.random() < OVERDOSE_DOSE_ONLY_SHARE:
            terms = []
        entry = overdose_entry(drug, rng)
        return self.report_bytes(rng, report_id, arrival_day, receive_day, drug_i, country=country,
                                 extra_terms=tuple(terms), suspect_entry=entry,
                                 force_serious=True)

    def follow_up(self, rng: random.Random, payload: bytes, version: int, arrival_day: int,
                  receive_day: int) -> bytes:
        """The same report with a higher version: later receipt date, updated outcomes.

        `payload` is a report as `build_bytes` (or an earlier follow-up) made it; `receive_day`
        is its receivedate as a day number (days since 1970-01-01). The JSON bytes are edited in
        place rather than parsed and rebuilt (a fifth of the cost): every key edited occurs
        once, and a JSON string cannot hold an unescaped quote, so `"key":` finds the field.
        """
        rnd = rng.random
        cat = self.reactions
        index, fragments, fatal, typical = (cat.index, cat.fragments_json, cat.fatal,
                                            cat.typically_serious)
        start = payload.index(b'"reaction":[') + len(b'"reaction":[')
        end = payload.index(b'],"drug":[', start)
        reactions = []
        death = False
        for old in orjson.loads(b"[" + payload[start:end] + b"]"):
            term = index[old["reactionmeddrapt"]]
            if fatal[term] or (typical[term] and rnd() < 0.05):
                outcome = OUTCOME_CODES.index("5")
                death = True
            else:
                outcome = _FOLLOW_UP_OUTCOMES[int(rnd() * len(_FOLLOW_UP_OUTCOMES))]
            reactions.append(fragments[term][outcome])
        receipt_day = max(arrival_day - int(rnd() * 3), receive_day)
        days = self.days
        head = payload[:start - len(b'"reaction":[')]
        if death and b'"patientdeath":' not in head:
            head += (b'"patientdeath":{"patientdeathdate":"' + days.as_bytes(receipt_day)
                     + b'","patientdeathdateformat":"102"},')
        if death and b'"seriousnessdeath":"1"' not in head:
            head = _replace_between(head, b'"serious":', b'"fulfillexpeditecriteria":"',
                                    _DEATH_SERIOUSNESS)
        head = _replace_value(head, b"safetyreportversion", str(version).encode())
        head = _replace_value(head, b"receiptdate", days.as_bytes(receipt_day))
        head = _replace_value(head, b"transmissiondate", days.as_bytes(arrival_day))
        return b"".join((head, b'"reaction":[', b",".join(reactions), payload[end:]))


def _replace_value(payload: bytes, key: bytes, value: bytes) -> bytes:
    """The payload with the string value of its (only) field `key` replaced."""
    start = payload.index(b'"' + key + b'":"') + len(key) + 4
    end = payload.index(b'"', start)
    return payload[:start] + value + payload[end:]


def _replace_between(payload: bytes, first: bytes, last: bytes, fields: bytes) -> bytes:
    """The payload with the fields from key `first` through the string field `last` (which
    follows it) replaced by `fields`."""
    start = payload.index(first)
    end = payload.index(b'"', payload.index(last, start) + len(last)) + 1
    return payload[:start] + fields + payload[end:]


@functools.lru_cache(maxsize=4)
def factory_for(seed: int) -> ReportFactory:
    """A factory per seed, shared within a process (it only grows caches as it is used)."""
    return ReportFactory(load_reference(), seed, shared_days())
