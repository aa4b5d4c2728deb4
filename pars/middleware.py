from django.http import HttpResponseBadRequest
from django.template.loader import render_to_string
from django.urls import reverse

NUL_IN_QUERY = "The address contains a character that is not allowed (a NUL byte). Check the link and try again."


class RefuseNulInQueryMiddleware:
    """Answer 400 to an admin query string holding a NUL byte, before any view reads it.

    PostgreSQL refuses NUL in text, so an admin list filter holding one would
    reach the database as an error (a 500), Django's own admin screens (groups,
    django-axes) included. The site's own pages validate their query strings in
    their forms and say what is wrong next to the field instead.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The query string first: almost never a NUL, and cheaper to read than reversing the admin's URL.
        if any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ) and request.path.startswith(reverse("admin:index")):
            body = render_to_string("400.html", {"message": NUL_IN_QUERY}, request=request)
            return HttpResponseBadRequest(body)
        return self.get_response(request)


# Methods that only read: RFC 9110's safe methods.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class ReadsOutsideTransactionMiddleware:
    """Run a read (GET, HEAD, OPTIONS) without a transaction; leave every write to ATOMIC_REQUESTS.

    ATOMIC_REQUESTS wraps every view in a transaction. For a page that only reads
    that is a BEGIN and a COMMIT for nothing on PostgreSQL, and on SQLite, whose
    transactions begin IMMEDIATE so that writers queue instead of failing, a write
    lock that queues every reader behind every other request. So a read's view is
    called here, directly, as a process_view hook may, and its queries run in
    autocommit. A write returns None and Django runs its view inside ATOMIC_REQUESTS'
    transaction: rolled back entirely on any exception, with the non_atomic_requests
    exemptions (the admin's list and actions) respected. A read that writes anything
    goes through a service, which opens its own transaction.

    Last in MIDDLEWARE, so every other process_view hook (the CSRF check) runs first.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method not in SAFE_METHODS:
            return None
        return view_func(request, *view_args, **view_kwargs)
