"""Fragments of a page drawn once and reused, with each request's own CSRF field put in afterwards.

A form inside a reused fragment cannot carry the token of the request that
first drew it: the fragment is drawn with CSRF_SLOT where the field goes, and
csrf_filled() puts the current request's field there.
"""

from django.template.backends.utils import csrf_input
from django.utils.safestring import mark_safe

# An HTML comment, which nothing a person types can produce (templates escape every "<" of the data they show).
CSRF_SLOT = "<!-- csrf -->"


def csrf_filled(request, html: str) -> str:
    """The fragment with this request's CSRF field in its slot (none without a request, as {% csrf_token %})."""
    return mark_safe(html.replace(CSRF_SLOT, csrf_input(request) if request is not None else ""))
