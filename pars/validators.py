"""Single-line text: no control characters.

A line break in a name or an organization name ends up in an email header (a
BadHeaderError, or a forged header), and a NUL or a bidirectional override hides
what a person reads. Every single-line field of a person or an organization
carries refuse_control_characters, so the site's forms, the admin and the
services (full_clean) all refuse it with one message.
"""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

CONTROL_CHARACTERS = "Remove the line breaks and other invisible control characters from this text."

# Cc: C0 and C1 controls (NUL, CR, LF, TAB, ...); Cf: format characters (bidi overrides, zero-width).
_CONTROL_CATEGORIES = {"Cc", "Cf"}


def has_control_characters(text: str) -> bool:
    return any(unicodedata.category(char) in _CONTROL_CATEGORIES for char in text or "")


def single_line(text: str) -> str:
    """The text with each run of control characters and spaces made one space: safe in an email header."""
    cleaned = "".join(" " if unicodedata.category(char) in _CONTROL_CATEGORIES else char for char in text or "")
    return " ".join(cleaned.split())


@deconstructible
class ControlCharacterValidator:
    message = CONTROL_CHARACTERS
    code = "control_characters"

    def __call__(self, value):
        if has_control_characters(value):
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other):
        return isinstance(other, ControlCharacterValidator)


refuse_control_characters = ControlCharacterValidator()


def rows_single_line(model, fields) -> int:
    """For data migrations: make every value of these fields single_line where it holds a control character.

    Returns how many rows changed.
    """
    changed = 0
    for row in model.objects.iterator():
        dirty = [name for name in fields if has_control_characters(getattr(row, name))]
        for name in dirty:
            setattr(row, name, single_line(getattr(row, name)))
        if dirty:
            row.save(update_fields=dirty)
            changed += 1
    return changed
