"""The accreditor's names for emails, which are rendered without a request (so without context processors)."""

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def accreditor_name() -> str:
    return settings.ACCREDITOR_NAME


@register.simple_tag
def accreditor_short_name() -> str:
    return settings.ACCREDITOR_SHORT_NAME
