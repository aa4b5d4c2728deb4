from django import template

register = template.Library()


@register.filter
def lookup(mapping, key):
    """mapping[key], or None: a dict the view built, read by a key the template has."""
    return mapping.get(key)
