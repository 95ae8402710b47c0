"""Login captchas: single-use, short-lived, and drawn by a library (python `captcha`), not by hand."""

from __future__ import annotations

import secrets

from captcha.image import ImageCaptcha

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: characters people confuse on a phone screen.
ALPHABET = "ACDEFHJKMNPRTUVWXY34679"
LENGTH = 4
_IMAGE = ImageCaptcha(width=160, height=60)


def new_answer() -> str:
    """A random answer from the unambiguous alphabet."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def draw(answer: str) -> bytes:
    """The PNG image of an answer."""
    return _IMAGE.generate(answer).getvalue()


def normalise_answer(text: str) -> str:
    """What people type: any case, stray spaces."""
    return "".join(text.split()).upper()
