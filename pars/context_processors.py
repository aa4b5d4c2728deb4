from django.conf import settings


def site(request):
    """What every page's layout needs: the support address and the accreditor whose site this is."""
    return {
        "SUPPORT_EMAIL": settings.SUPPORT_EMAIL,
        "ACCREDITOR_NAME": settings.ACCREDITOR_NAME,
        "ACCREDITOR_SHORT_NAME": settings.ACCREDITOR_SHORT_NAME,
        "ACCREDITOR_LOGO": settings.ACCREDITOR_LOGO,
    }
