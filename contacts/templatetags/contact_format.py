"""How phone numbers and web addresses read on a page: tel: links that dial, addresses without https://."""

from django import template

from pars.forms import phone_tel

register = template.Library()


@register.filter
def tel(phone: str) -> str:
    """The tel: link of a phone number (E.164, extension dropped), or "" when it is not one."""
    return phone_tel(phone) if phone else ""


@register.filter
def website_display(url: str) -> str:
    """https://www.example.org/ reads as www.example.org."""
    for scheme in ("https://", "http://"):
        if url.startswith(scheme):
            url = url[len(scheme) :]
            break
    return url.rstrip("/")
