"""Counting committed ingest results (station API and import) in the platform's metrics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from bloodcert import metrics
from bloodcert.services.reporting import RecordResult

SIGNING_OUTCOMES = frozenset({"created", "updated"})


def observe_results(source: str, results: Iterable[RecordResult], rejected_codes: Iterable[str] = ()) -> None:
    """Count a committed batch: each record's outcome, every error code of the rejected ones, and the
    certificates signed. `rejected_codes` are the codes of records refused before ingest (an unreadable
    line or unknown station of an import), each such record counted as rejected too."""
    outcomes: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    certificates = 0
    for result in results:
        outcomes[result.outcome] += 1
        codes.update(e.code for e in result.errors)
        if result.outcome in SIGNING_OUTCOMES and result.certificate_no is not None:
            certificates += 1
    for code in rejected_codes:
        outcomes["rejected"] += 1
        codes[code] += 1
    metrics.observe_records(source, outcomes, codes, certificates)
