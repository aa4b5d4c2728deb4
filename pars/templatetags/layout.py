"""The site header (templates/includes/header.html), drawn once per process for each kind of visitor.

The header says the same to everyone of a kind: signed in or not, CME staff or
not, owing a second factor or not. Drawing it took more than half of the base
layout's time (its six links are six URL reversals), on every page; now each
process draws each kind once and keeps it, and each request's CSRF field goes
into the sign-out form afterwards (pars.fragments). With DEBUG on, it is drawn
every time, so an edited template shows at once.
"""

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from pars.context_processors import site_context
from pars.fragments import CSRF_SLOT, csrf_filled

register = template.Library()

HEADER_TEMPLATE = "includes/header.html"
_drawn: dict[tuple, str] = {}


@register.simple_tag(takes_context=True)
def site_header(context):
    user = context.get("user")
    kind = {
        "signed_in": bool(user and user.is_authenticated),
        "staff": bool(user and user.is_staff),
        "two_factor_pending": bool(context.get("two_factor_pending")),
    }
    # Everything else the header shows: the accreditor, and where the site and its static files are.
    shown = site_context()
    key = (*kind.values(), *shown.values(), settings.STATIC_URL, get_script_prefix(), get_language())
    html = None if settings.DEBUG else _drawn.get(key)
    if html is None:
        html = render_to_string(HEADER_TEMPLATE, {**kind, **shown, "csrf_input": mark_safe(CSRF_SLOT)})
        if not settings.DEBUG:
            _drawn[key] = html
    return csrf_filled(context.get("request"), html)
