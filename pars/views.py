from django.conf import settings
from django.db import transaction
from django.db.utils import DatabaseError
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
@transaction.non_atomic_requests  # ATOMIC_REQUESTS would need the database before the probe: a 500, not a 503
def healthz(request):
    """Anyone (a load balancer, a monitor): 200 while the database answers and the emails go out, else 503.

    One query, which is also the database probe: how long the oldest email due
    now has waited for a worker. Older than HEALTHZ_EMAIL_MAX_AGE_SECONDS means
    no worker runs, or they cannot keep up.
    """
    from contacts.emails import oldest_queued_age

    try:
        age = oldest_queued_age()
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    seconds = int(age.total_seconds()) if age else 0
    body = {"status": "ok", "database": "ok", "oldest_queued_email_seconds": seconds}
    if seconds > settings.HEALTHZ_EMAIL_MAX_AGE_SECONDS:
        return JsonResponse({**body, "status": "unavailable", "emails": "not being sent"}, status=503)
    return JsonResponse(body)


def page_not_found(request, exception):
    return render(request, "404.html", status=404)


def server_error(request):
    # No context processors that touch the database: the database may be the failure.
    return render(request, "500.html", status=500)
