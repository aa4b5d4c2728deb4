from django.conf import settings


def site_context() -> dict:
    """What every page's layout needs: the support address and the accreditor whose site this is.

    Also what a fragment drawn without the request is given, and keyed on (the site header, the roster).
    """
    return {
        "SUPPORT_EMAIL": settings.SUPPORT_EMAIL,
        "ACCREDITOR_NAME": settings.ACCREDITOR_NAME,
        "ACCREDITOR_SHORT_NAME": settings.ACCREDITOR_SHORT_NAME,
        "ACCREDITOR_LOGO": settings.ACCREDITOR_LOGO,
    }


def site(request):
    """The context processor: site_context() on every page."""
    return site_context()
