from datetime import timedelta

from django import template
from django.conf import settings

register = template.Library()


def _plural(count, unit):
    return f"{count} {unit}{'s' if count != 1 else ''}"


@register.filter
def duration_in_words(value):
    """A timedelta or a number of seconds in words: "7 days", "1 hour", "30 minutes"."""
    if value in (None, ""):
        return ""
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    if seconds >= 86400 and seconds % 86400 == 0:
        return _plural(seconds // 86400, "day")
    if seconds >= 3600:
        return _plural(seconds // 3600, "hour")
    return _plural(max(seconds // 60, 1), "minute")


@register.simple_tag
def link_lifetime():
    """How long a set-password link works (PASSWORD_RESET_TIMEOUT), in words."""
    return duration_in_words(settings.PASSWORD_RESET_TIMEOUT)
