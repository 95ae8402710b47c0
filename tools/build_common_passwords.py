"""Build src/bloodcert/data/common-passwords.txt.gz from the lists shipped by two PyPI packages.

Run from the repository root, after fetching the two wheels with pip::

    .venv/bin/pip download --no-deps -d /tmp/pw Django==5.2.19 zxcvbn==4.5.0
    .venv/bin/python tools/build_common_passwords.py /tmp/pw/django-5.2.19-py3-none-any.whl \
        /tmp/pw/zxcvbn-4.5.0-py2.py3-none-any.whl

Every entry is normalised as bloodcert.services.passwords.normalise does (NFKC, case-folded, no
whitespace), de-duplicated and sorted, one a line; the file is gzipped without a timestamp, so that the
same inputs give the same bytes.
"""

from __future__ import annotations

import ast
import gzip
import sys
import zipfile
from pathlib import Path

from bloodcert.services.passwords import normalise

OUTPUT = Path(__file__).resolve().parent.parent / "src" / "bloodcert" / "data" / "common-passwords.txt.gz"
DJANGO_LIST = "django/contrib/auth/common-passwords.txt.gz"
ZXCVBN_LISTS = "zxcvbn/frequency_lists.py"


def django_passwords(wheel: Path) -> list[str]:
    """Django's CommonPasswordValidator list (20,000 entries, by Royce Williams)."""
    with zipfile.ZipFile(wheel) as archive:
        return gzip.decompress(archive.read(DJANGO_LIST)).decode("utf-8").splitlines()


def zxcvbn_passwords(wheel: Path) -> list[str]:
    """zxcvbn's `passwords` frequency list (30,000 entries), read as data rather than imported."""
    with zipfile.ZipFile(wheel) as archive:
        tree = ast.parse(archive.read(ZXCVBN_LISTS).decode("utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                # The value is `"a,b,c".split(",")`: read the string, never run the file.
                if isinstance(key, ast.Constant) and key.value == "passwords":
                    text = value.func.value if isinstance(value, ast.Call) else value  # type: ignore[attr-defined]
                    return str(ast.literal_eval(text)).split(",")
    raise SystemExit(f"no `passwords` list in {wheel}")


def main(django_wheel: str, zxcvbn_wheel: str) -> None:
    """Merge, normalise and write the list."""
    listed = [*django_passwords(Path(django_wheel)), *zxcvbn_passwords(Path(zxcvbn_wheel))]
    entries = {normalise(p) for p in listed}
    entries.discard("")
    body = ("\n".join(sorted(entries)) + "\n").encode("utf-8")
    OUTPUT.write_bytes(gzip.compress(body, compresslevel=9, mtime=0))
    print(f"wrote {len(entries)} passwords to {OUTPUT}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
