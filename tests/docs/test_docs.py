"""The user documentation (README.md and docs/) stays true to the code and to itself.

- Every link between the pages lands on a file of the repository and, with an anchor, on a heading.
- The pages speak for the project: no reference to material outside the repository.
- The lists that must be complete are: the certificate's claim keys, the record error and warning codes,
  the station API's problem types, the configuration variables and the rate limits. Each is read from
  the code (its syntax tree, or its constants) and looked up in the page that promises it.
"""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

import pytest

from bloodcert.certs.payload import CertificateContent, to_claims
from bloodcert.certs.qr import CLAIM_CERTIFICATE
from bloodcert.web.ratelimit import DEFAULT_LIMITS

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "bloodcert"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def text(page: str) -> str:
    return (ROOT / page).read_text(encoding="utf-8")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    body = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return frozenset(slug(m) for m in re.findall(r"^#{1,6} (.+)$", body, flags=re.MULTILINE))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_lands_on_a_file_and_heading_of_the_repository(page: Path) -> None:
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://")):
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (page.parent / file_part).resolve() if file_part else page
        assert resolved.is_relative_to(ROOT), f"{page.name}: {target} leaves the repository"
        assert resolved.exists(), f"{page.name}: {target} does not exist"
        if anchor:
            assert anchor in anchors(resolved), f"{page.name}: no heading #{anchor} in {resolved.name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_pages_refer_to_nothing_outside_the_project(page: Path) -> None:
    body = page.read_text(encoding="utf-8")
    # Any relative path the text names, linked or not, must stay inside the repository.
    for path in re.findall(r"(?:\.\./)+[\w.-]+", body):
        assert (page.parent / path).resolve().is_relative_to(ROOT), (
            f"{page.name}: {path} leaves the repository"
        )
    assert not re.search(r"\bSPEC\b", body)


def table_codes(page: str, after: str, before: str) -> set[str]:
    """The first-column `code` entries of the tables between two markers of a page."""
    body = text(page)
    section = body[body.index(after) : body.index(before, body.index(after))]
    return set(re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE))


def test_the_certificate_map_lists_every_claim_key() -> None:
    content = CertificateContent(
        "2026000000000015", "D1", "33000001", "站", date(2024, 5, 1), "whole_blood", 400, None,
        "王芳", "330***********1221", "A", "positive", ("1", 7),
    )  # fmt: skip
    claims = to_claims(content, issuer="CN-NHC", issued_at=datetime(2024, 5, 1, tzinfo=UTC))
    documented = table_codes("docs/certificate-format.md", "The certificate map", "The full ID number")
    assert documented == set(claims[CLAIM_CERTIFICATE])
    top = table_codes("docs/certificate-format.md", "## 3. Claims", "The certificate map")
    assert top == {str(k) for k in claims}


def _codes_in(module: Path) -> set[str]:
    """Codes of FieldProblem/RecordWarning/ProblemField calls and of (code, message) results."""
    codes: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute):
            name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            # The record parser's `fail(path, code, message)` makes a FieldProblem too.
            position = {"FieldProblem": 1, "ProblemField": 1, "fail": 1, "RecordWarning": 0}.get(name)
            if position is not None and len(node.args) > position:
                arg = node.args[position]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    codes.add(arg.value)
        if isinstance(node, ast.Tuple) and len(node.elts) == 2:
            first = node.elts[0]
            if isinstance(first, ast.Constant) and re.fullmatch(r"[a-z]+_[a-z_]+", str(first.value)):
                codes.add(str(first.value))
    return codes


def test_every_record_error_and_warning_code_is_in_the_station_guide() -> None:
    used: set[str] = set()
    for module in ("domain/records.py", "domain/identity.py", "services/reporting.py"):
        used |= _codes_in(SRC / module)
    used.discard("")  # not a code: the field of a record that is no object
    documented = table_codes("docs/station-integration.md", "| error code |", "A request that fails") | (
        table_codes("docs/station-integration.md", "| warning code |", "A request that fails")
    )
    assert used <= documented, f"undocumented: {sorted(used - documented)}"
    assert documented <= used, f"documented but never used: {sorted(documented - used)}"


def test_every_station_authentication_problem_is_in_the_station_guide() -> None:
    slugs = set(re.findall(r'slug="([a-z_]+)"', (SRC / "services/station_auth.py").read_text()))
    guide = text("docs/station-integration.md")
    documented = set(re.findall(r"^\| 401 \| `([a-z_]+)` \|", guide, flags=re.MULTILINE))
    assert slugs == documented


def test_every_setting_the_code_reads_is_in_the_configuration_table() -> None:
    config = (SRC / "config.py").read_text(encoding="utf-8")
    names = set(re.findall(r'_get\(env, "([A-Z_]+)"\)', config))
    names |= set(re.findall(r'_secret_key\(env, data_dir, "([A-Z_]+)"', config))
    names |= set(re.findall(r'_choice\(env, "([A-Z_]+)"', config))
    assert len(names) >= 15
    documented = table_codes("docs/operations.md", "## Configuration", "**Rate limits**")
    assert {f"BLOODCERT_{n}" for n in names} <= documented


def test_the_rate_limit_table_gives_every_limit_and_its_default() -> None:
    body = text("docs/operations.md")
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| `([0-9]+/[a-z]+)` \|", body, flags=re.MULTILINE))
    assert rows == dict(DEFAULT_LIMITS)


def test_the_slug_follows_github() -> None:
    assert slug("5. Versions, corrections and voids") == "5-versions-corrections-and-voids"
    assert slug("Staff console (`/console`, 管理控制台)") == "staff-console-console-管理控制台"
