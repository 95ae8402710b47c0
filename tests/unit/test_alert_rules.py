"""The example alert rules in deploy/prometheus: well-formed, about metrics the platform has, documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bloodcert.metrics import _metrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def metric_names() -> set[str]:
    held = _metrics()
    metrics = [getattr(held, name) for name in held.__slots__]
    families = {family.name for metric in metrics for family in metric.describe()}
    return families | {"up"}


def test_every_alert_rule_is_complete() -> None:
    assert len(rules()) >= 5
    for rule in rules():
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule.get("alert")
        assert rule["labels"]["severity"] in {"page", "ticket", "info"}
        assert rule["annotations"]["summary"]


def test_the_alert_rules_name_only_metrics_the_platform_exports() -> None:
    named = {
        re.sub(r"_(total|bucket|count|sum)$", "", name)
        for rule in rules()
        for name in re.findall(r"\b(bloodcert_[a-z_]+|up)\{?", rule["expr"])
    }
    assert named <= metric_names()
    assert named >= {"bloodcert_http_requests", "bloodcert_records", "bloodcert_db_connections_in_use"}


def test_the_operations_guide_explains_every_alert() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert {rule["alert"] for rule in rules()} <= set(re.findall(r"`(Bloodcert[A-Za-z]+)`", guide))
