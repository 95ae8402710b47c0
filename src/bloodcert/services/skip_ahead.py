"""After a restore to an earlier moment: never give out a certificate number, or a status list slot, that
a certificate issued after the backup may already carry (`bloodcert certs skip-ahead`).

Certificates issued between the backup and the loss are gone from the restored database, but their donors
may hold them. The counters went back with the database, so without this the next certificates would take
the same serials, and the status lists would hand out the same slots (a revocation of the new certificate
would then show the lost one as revoked to an offline verifier, and the reverse). Skipping ahead moves the
certificate counter past every number that can have been issued since the backup (the operator says how
many: at least the certificates issued in the period lost), moves the status list counter past the lists
those certificates can have opened, and seals every list that still had room. Numbers are only ever
skipped, never taken back: running it twice skips twice, which costs numbers and nothing else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from bloodcert.certs import status_list
from bloodcert.domain.clock import naive_utc
from bloodcert.errors import ValidationFailed
from bloodcert.services.certificates import STATUS_LIST_COUNTER
from bloodcert.services.reporting import CERTIFICATE_COUNTER
from bloodcert.storage.uow import UnitOfWork

# A back-fill of a whole country is about 30 M certificates; more than this is a typing error.
MAX_SKIP = 1_000_000_000


@dataclass(frozen=True, slots=True)
class SkippedAhead:
    """What was skipped: certificate serials `first_serial`..`last_serial`, status list ids
    `first_list`..`last_list`, and how many lists with room were sealed."""

    first_serial: int
    last_serial: int
    first_list: int
    last_list: int
    sealed: int


def skip_ahead(uow: UnitOfWork, certificates: int, now: datetime) -> SkippedAhead:
    """Skip `certificates` serials and the status lists they can fill, and seal the lists with room."""
    if not 1 <= certificates <= MAX_SKIP:
        raise ValidationFailed(f"skip between 1 and {MAX_SKIP:,} certificate numbers")
    lists = math.ceil(certificates / status_list.FILL_LIMIT) + 1
    first = uow.donations.allocate_serials(CERTIFICATE_COUNTER, certificates)
    first_list = uow.donations.allocate_serials(STATUS_LIST_COUNTER, lists)
    sealed = uow.certificates.seal_open_lists(status_list.FILL_LIMIT, naive_utc(now))
    return SkippedAhead(first, first + certificates - 1, first_list, first_list + lists - 1, sealed)
