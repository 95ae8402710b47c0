"""Every JSON answer the guides show has the shape the API really answers with.

Each example follows an `<!-- shape: module:Struct -->` marker naming the response struct it shows (or
`problem`, or `status-list`): it must decode as that struct, strictly, and encode back to itself, so a
field the code renamed, dropped or added cannot linger in the guides.
"""

from __future__ import annotations

import importlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from bloodcert.certs import status_list
from bloodcert.web.openapi import PROBLEM

ROOT = Path(__file__).resolve().parents[2]
MARKED = re.compile(r"<!-- shape: (?P<shape>[\w.:-]+) -->\n```json\n(?P<json>.*?)\n```", re.DOTALL)
SRC = ROOT / "src" / "bloodcert"


def examples() -> list[tuple[str, str, Any]]:
    found = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        for match in MARKED.finditer(page.read_text(encoding="utf-8")):
            found.append((page.name, match["shape"], json.loads(match["json"])))
    return found


def strict(struct: type[Any]) -> type[Any]:
    """The struct and the structs it holds, refusing fields they do not declare (optional ones stay so)."""
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    return msgspec.defstruct(
        struct.__name__,
        [_field(f) for f in info.fields],
        forbid_unknown_fields=True,
        omit_defaults=struct.__struct_config__.omit_defaults,
    )


def _field(f: msgspec.inspect.Field) -> tuple[str, Any, Any]:
    # The JSON name travels along: a field may be renamed (`pass` cannot be a Python name).
    if f.required:
        return (f.name, _strict_type(f.type), msgspec.field(name=f.encode_name))
    if f.default_factory is not msgspec.NODEFAULT:
        return (
            f.name,
            _strict_type(f.type),
            msgspec.field(default_factory=f.default_factory, name=f.encode_name),
        )
    return (f.name, _strict_type(f.type), msgspec.field(default=f.default, name=f.encode_name))


def _strict_type(info: Any) -> Any:
    if isinstance(info, msgspec.inspect.StructType):
        return strict(info.cls)
    if isinstance(info, msgspec.inspect.ListType):
        return list[_strict_type(info.item_type)]  # type: ignore[misc]
    if isinstance(info, msgspec.inspect.UnionType):
        kinds = tuple(_strict_type(t) for t in info.types)
        union: Any = kinds[0]
        for kind in kinds[1:]:
            union = union | kind
        return union
    if isinstance(info, msgspec.inspect.DictType):
        return dict[_strict_type(info.key_type), _strict_type(info.value_type)]  # type: ignore[misc]
    return {
        msgspec.inspect.StrType: str,
        msgspec.inspect.IntType: int,
        msgspec.inspect.FloatType: float,
        msgspec.inspect.BoolType: bool,
        msgspec.inspect.NoneType: type(None),
        msgspec.inspect.DateTimeType: datetime,
    }[type(info)]


def test_the_guides_show_the_answers_of_every_api() -> None:
    shapes = {shape for _page, shape, _ in examples()}
    assert {"problem", "bloodcert.web.api.donor:HistoryOut", "bloodcert.web.api.station:QualityOut"} <= shapes
    assert len(examples()) >= 14


@pytest.mark.parametrize(
    ("page", "shape", "example"), examples(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_each_example_answer_has_the_shape_of_the_api(page: str, shape: str, example: Any) -> None:
    if shape == "problem":
        assert set(PROBLEM["required"]) <= set(example) <= set(PROBLEM["properties"])
        slugs = "".join(p.read_text(encoding="utf-8") for p in SRC.rglob("*.py"))
        assert f'"{example["type"]}"' in slugs, f"{page}: no problem type {example['type']} in the code"
        return
    if shape == "status-list":
        made = status_list.credential(
            base_url="https://x", list_id="1", issuer="CN-NHC", bits=status_list.empty_bits(),
            updated=datetime(2026, 11, 30, 4, tzinfo=UTC),
        )  # fmt: skip
        assert set(example) == {*made, "signature"}
        assert set(example["credentialSubject"]) == set(made["credentialSubject"])
        assert example["credentialSubject"]["encodedList"] == made["credentialSubject"]["encodedList"]
        return
    module, _, name = shape.partition(":")
    struct = strict(getattr(importlib.import_module(module), name))
    decoded = msgspec.convert(example, struct)
    assert json.loads(msgspec.json.encode(decoded)) == example, f"{page}: {shape} differs"
