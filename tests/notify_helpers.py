"""Persons and channels for the notification tests: persons straight into the table, SMS through its simulator."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import insert

from bloodcert.channels.sms import SmsChannel, SmsConfig
from bloodcert.domain.notifications import Channel
from bloodcert.storage.tables import persons
from bloodcert.storage.uow import Database
from tests.simulators.aliyun_sms import SmsSimulator


def create_person(db: Database, n: int, *, abo: str = "O", rhd: str = "positive") -> int:
    """A merged person numbered `n` (hashes and ID made from the number)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    row = {
        "merge_hash": (n + 1).to_bytes(32, "big"),
        "identity_hash": (n + 1).to_bytes(32, "big"),
        "name_hash": (n + 1).to_bytes(32, "big"),
        "id_type": "resident_id",
        "id_number": f"33010619900101{n:04d}",
        "name": f"献血者{n}",
        "abo": abo,
        "rhd": rhd,
        "donation_count": 0,
        "whole_blood_ml": 0,
        "platelet_units": 0,
        "plasma_ml": 0,
        "created_at": now,
        "updated_at": now,
    }
    with db.transaction() as uow:
        return int(uow.conn.execute(insert(persons).values(row).returning(persons.c.id)).scalar_one())


def sms_channels(sim: SmsSimulator) -> dict[Channel, SmsChannel]:
    """The SMS channel wired to a simulator, as the only provider channel."""
    config = SmsConfig("LTAIkey", "secret", "电子献血证", "SMS_1234")
    return {Channel.SMS: SmsChannel(config, httpx.Client(transport=sim.transport))}


def sms_simulator(per_number: int = 100) -> SmsSimulator:
    """A local SMS service that accepts the helpers' key, signature and template."""
    return SmsSimulator(
        "LTAIkey", "secret", sign_name="电子献血证", template_code="SMS_1234", per_number=per_number
    )
