"""Log many different donors in (through the login service, as the API does) and write their tokens."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bloodcert.config import Settings
from bloodcert.services import sessions
from bloodcert.storage.tables import persons
from bloodcert.storage.uow import Database


def make_tokens(settings: Settings, count: int, out: Path, seed: int = 1) -> int:
    """Open `count` sessions for random persons with donations; write one bearer token per line."""
    db = Database(settings.database_url, data_key=settings.data_key)

    with db.reading() as uow:
        rows = uow.conn.execute(
            select(persons.c.identity_hash, persons.c.name_hash).where(persons.c.donation_count > 0)
        ).all()
    picked = random.Random(seed).sample(rows, min(count, len(rows)))
    tokens = []
    with db.transaction() as uow:
        for identity, name in picked:
            ctx = sessions.LoginContext("bench", settings.index_key, settings.audit_key, datetime.now(UTC))
            owner = sessions.DonorOwner(bytes(identity), bytes(name), None, "bench")
            grant = sessions.grant(uow, ctx, sessions.DONOR, owner).grant
            assert grant is not None
            tokens.append(grant.token)
    out.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    db.dispose()
    return len(tokens)
