"""The operators' pages (operations, deployment, backup and restore) stay complete and true to the code.

- every `bloodcert …` command they show exists;
- every periodic command is in both crontabs (a single machine's and a cluster's);
- every alert rule has its "what to do" section, and every section its rule;
- every metric the code defines is in the metrics table.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer.main

from bloodcert.cli import app

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("docs/operations.md", "docs/deployment.md", "docs/backup-and-restore.md")
# The commands that are meant to run on a schedule. A command whose help mentions cron must be here too.
PERIODIC = {
    "db prune",
    "claims escalate",
    "corrections escalate",
    "notify send",
    "notify sweep",
    "certs sign-pending",
    "trust-list export",
    "audit prune",
    "audit verify",
}


def text(page: str) -> str:
    return (ROOT / page).read_text(encoding="utf-8")


def cli_commands() -> dict[str, Any]:
    """Every command of the CLI by its full name ("db prune", "waiver rules list", "serve")."""
    found: dict[str, Any] = {}

    def walk(group: Any, prefix: str) -> None:
        for name, command in group.commands.items():
            full = f"{prefix}{name}"
            if hasattr(command, "commands"):  # a group of commands
                walk(command, full + " ")
            else:
                found[full] = command

    walk(typer.main.get_command(app), "")
    return found


def mentioned_commands(body: str) -> set[str]:
    """`bloodcert X` or `bloodcert X Y` (and the cluster wrapper's `bloodcert-run …`) in the pages' code."""
    known = cli_commands()
    # Code only (prose says "bloodcert in production"); not the database and role named bloodcert.
    code = re.findall(r"```.*?```", body, flags=re.DOTALL) + re.findall(r"`[^`\n]+`", body)
    found = set()
    for first, second in re.findall(
        r"(?<!-O )(?<!createuser )(?<!=)\bbloodcert(?:-run)? ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?",
        "\n".join(code),
    ):
        two = f"{first} {second}"
        if two in known or any(name.startswith(two + " ") for name in known):
            found.add(two)
        else:
            found.add(first)
    return found


def test_every_command_the_operators_pages_show_exists() -> None:
    known = cli_commands()
    groups = {name.split(" ")[0] for name in known}
    for page in PAGES:
        for command in mentioned_commands(text(page)):
            assert command in known or command in groups, f"{page}: `bloodcert {command}` does not exist"


def crontab(page: str, after: str) -> str:
    body = text(page)
    start = body.index("```cron", body.index(after))
    return body[start : body.index("```", start + 7)]


def test_every_periodic_command_is_in_both_crontabs() -> None:
    known = cli_commands()
    for name, command in known.items():
        if "cron" in (command.help or ""):
            assert name in PERIODIC, (
                f"`bloodcert {name}` says it runs from cron; add it to PERIODIC and the crontabs"
            )
    assert known.keys() >= PERIODIC
    for page, section in (
        ("docs/operations.md", "## Scheduled jobs"),
        ("docs/deployment.md", "## Scheduled jobs"),
    ):
        tab = crontab(page, section)
        for name in PERIODIC:
            assert re.search(rf"bloodcert(?:-run)? {name}\b", tab), f"{page}: the crontab lacks `{name}`"


def test_every_alert_has_what_to_do_and_every_section_an_alert() -> None:
    rules = set(re.findall(r"^\s*- alert: (\w+)$", text("deploy/prometheus/alerts.yml"), flags=re.MULTILINE))
    assert len(rules) >= 8
    body = text("docs/deployment.md")
    section = body[body.index("## When an alert fires") :]
    sections = set(re.findall(r"^### (\w+)$", section, flags=re.MULTILINE))
    assert sections == rules
    table = text("docs/operations.md")
    assert {a for a in rules if f"| `{a}` |" in table} == rules, "the operations guide's alert table"


def test_every_metric_is_in_the_metrics_table() -> None:
    source = "\n".join(text(f"src/bloodcert/{module}") for module in ("metrics.py", "web/metrics.py"))
    made = re.findall(r'\b(Counter|Gauge|Histogram)\(\s*"(bloodcert_\w+)"', source)
    # prometheus-client exposes a counter with the suffix _total.
    defined = {name + ("_total" if kind == "Counter" else "") for kind, name in made}
    assert len(defined) >= 8
    body = text("docs/operations.md")
    section = body[body.index("## Metrics") :]
    documented = set(re.findall(r"^\| `(bloodcert_\w+)` \|", section, flags=re.MULTILINE))
    assert defined <= documented, f"undocumented metrics: {sorted(defined - documented)}"
    assert documented <= defined, f"documented but not defined: {sorted(documented - defined)}"
