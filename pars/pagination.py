"""Reading a page number from the query string, the same way on every paginated page."""


def page_number(request, name: str = "page") -> int:
    """The page asked for, at least 1; anything that is not a number (page=abc, page=) is page 1."""
    try:
        return max(int(request.GET.get(name) or 1), 1)
    except ValueError:
        return 1
