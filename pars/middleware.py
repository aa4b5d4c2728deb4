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
        if request.path.startswith(reverse("admin:index")) and any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            body = render_to_string("400.html", {"message": NUL_IN_QUERY}, request=request)
            return HttpResponseBadRequest(body)
        return self.get_response(request)
