from django.conf import settings


def site(request):
    """What every page's layout needs: the support address."""
    return {"SUPPORT_EMAIL": settings.SUPPORT_EMAIL}
