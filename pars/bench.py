"""Reference pages and a query counter for `make loadtest`, present only when PARS_BENCH_VIEWS is set.

The load test rates every page against two references served by the same
stack: a bare view (the middleware and nothing else) and a signed-in "floor"
page (the base layout, no data). A third stands between them, a signed-in
person's bare view (session and person loaded, no layout), so the table shows
what signing in costs and what the layout costs. None of these URLs exists in
a normal deployment.
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import connection
from django.http import HttpResponse
from django.views.generic import TemplateView, View

SQL_COUNT_HEADER = "X-SQL-Statements"


def bare(request):
    """Anyone: the stack's own cost, with the same middleware as every page."""
    return HttpResponse(b"ok", content_type="text/plain")


class SignedInView(LoginRequiredMixin, View):
    """A signed-in person: the bare view after the session and the person are loaded, no layout."""

    def get(self, request):
        return HttpResponse(b"ok", content_type="text/plain")


class FloorView(LoginRequiredMixin, TemplateView):
    """A signed-in person: the base layout with no data, the cheapest page a person can see."""

    template_name = "bench/floor.html"


class SqlCountMiddleware:
    """Add the number of SQL statements the request sent to the database as a response header.

    Outermost, so it counts every middleware's statements. Beyond the statements
    Django executes, a transaction costs BEGIN and COMMIT on the wire, counted
    when any statement ran inside one.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        seen = {"statements": 0, "in_transaction": False}

        def count(execute, sql, params, many, context):
            seen["statements"] += 1
            seen["in_transaction"] |= context["connection"].in_atomic_block
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = self.get_response(request)
        response[SQL_COUNT_HEADER] = str(seen["statements"] + 2 * seen["in_transaction"])
        return response
