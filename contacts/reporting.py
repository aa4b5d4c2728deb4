"""The yearly cycle as a report: what the Reporting-year page and its CSV show, in a fixed number of queries.

A reporting year is a calendar year. Three aggregate queries, whatever the number
of organizations: the counts (for the year and the two before it), confirmations
per week, and reminders per week. The charts' geometry is computed here so the
template only draws it (SVG, no script, no style attribute: the strict CSP).

"Complete in a year": confirmed during that year, with every required role
filled today (the roster as it stands; the history of each role is not replayed).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone

from contacts.models import Confirmation, ContactRole, EmailLog, Organization, required_roles

YEARS_SHOWN = 3
# Reminders counted as sent: queued, on their way, or out (a failed or suppressed one reached nobody).
REMINDED_STATUSES = [EmailLog.Status.QUEUED, EmailLog.Status.SENDING, EmailLog.Status.SENT]

# Chart geometry, in SVG user units (the viewBox scales it to the width available).
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 240, 40, 30, 10


def year_bounds(year: int) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    start = datetime.combine(date(year, 1, 1), time.min, tzinfo=tz)
    return start, datetime.combine(date(year + 1, 1, 1), time.min, tzinfo=tz)


def reporting_year(value) -> int:
    """The year asked for (?year=), or this year for anything that is not a sensible year."""
    this_year = timezone.localdate().year
    try:
        year = int(value)
    except (TypeError, ValueError):
        return this_year
    return year if 2000 <= year <= this_year else this_year


@dataclass(frozen=True)
class YearShare:
    year: int
    complete: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.complete / self.total) if self.total else 0


@dataclass(frozen=True)
class Week:
    start: date
    confirmations: int
    reminders: int


@dataclass(frozen=True)
class Report:
    year: int
    total: int
    confirmed: int
    reminded: int
    incomplete: int
    weeks: list[Week]
    shares: list[YearShare]

    @property
    def not_confirmed(self) -> int:
        return self.total - self.confirmed


def _confirmed_in(year: int):
    start, end = year_bounds(year)
    return Exists(
        Confirmation.objects.filter(organization=OuterRef("pk"), confirmed_at__gte=start, confirmed_at__lt=end)
    )


def _holds(role):
    return Exists(ContactRole.objects.filter(organization=OuterRef("pk"), role=role))


def _weekly(queryset, field: str, start, end) -> dict[date, int]:
    rows = (
        queryset.filter(**{f"{field}__gte": start, f"{field}__lt": end})
        .annotate(week=TruncWeek(field))
        .order_by()
        .values("week")
        .annotate(n=Count("pk"))
    )
    return {
        timezone.localdate(row["week"]) if isinstance(row["week"], datetime) else row["week"]: row["n"] for row in rows
    }


def report(year: int) -> Report:
    """The year's counts, its weeks and the share of complete organizations in it and the two years before."""
    years = list(range(year - YEARS_SHOWN + 1, year + 1))
    start, end = year_bounds(year)
    roles = required_roles()
    filled = Q(**{f"holds_{role.value}": True for role in roles})
    reminded = Exists(
        EmailLog.objects.filter(
            organization=OuterRef("pk"),
            kind=EmailLog.Kind.REMINDER,
            status__in=REMINDED_STATUSES,
            queued_at__gte=start,
            queued_at__lt=end,
        )
    )
    annotated = Organization.objects.order_by().annotate(
        is_reminded=reminded,
        **{f"holds_{role.value}": _holds(role) for role in roles},
        **{f"is_confirmed_{y}": _confirmed_in(y) for y in years},
    )
    counts = annotated.aggregate(
        total=Count("pk"),
        reminded=Count("pk", filter=Q(is_reminded=True)),
        **{f"confirmed_{y}": Count("pk", filter=Q(**{f"is_confirmed_{y}": True})) for y in years},
        **{f"complete_{y}": Count("pk", filter=filled & Q(**{f"is_confirmed_{y}": True})) for y in years},
    )
    confirmations = _weekly(Confirmation.objects.all(), "confirmed_at", start, end)
    reminders = _weekly(
        EmailLog.objects.filter(kind=EmailLog.Kind.REMINDER, status__in=REMINDED_STATUSES), "queued_at", start, end
    )
    return Report(
        year=year,
        total=counts["total"],
        confirmed=counts[f"confirmed_{year}"],
        reminded=counts["reminded"],
        incomplete=counts["total"] - counts[f"complete_{year}"],
        weeks=_weeks(year, confirmations, reminders),
        shares=[YearShare(y, counts[f"complete_{y}"], counts["total"]) for y in years],
    )


def _weeks(year: int, confirmations: dict, reminders: dict) -> list[Week]:
    """Every week (starting Monday) that overlaps the year, up to this week in the current year."""
    first = date(year, 1, 1)
    monday = first - timedelta(days=first.weekday())
    last = min(date(year, 12, 31), timezone.localdate())
    weeks = []
    while monday <= last:
        weeks.append(Week(monday, confirmations.get(monday, 0), reminders.get(monday, 0)))
        monday += timedelta(days=7)
    return weeks


# Charts -----------------------------------------------------------------------------------


def _scale(top: int) -> int:
    """A round maximum for the vertical axis, at least 1."""
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000):
        if top <= step:
            return step
    return top


def weekly_chart(weeks: list[Week]) -> dict:
    """Bars of confirmations per week, and a line of reminders sent, on one scale."""
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - BOTTOM - TOP
    top = _scale(max([w.confirmations for w in weeks] + [w.reminders for w in weeks] + [1]))
    slot = plot_w / max(len(weeks), 1)

    def y(value):
        return round(TOP + plot_h - plot_h * value / top, 1)

    bars, points, labels = [], [], []
    for i, week in enumerate(weeks):
        x = LEFT + i * slot
        bars.append(
            {
                "x": round(x + slot * 0.15, 1),
                "y": y(week.confirmations),
                "width": round(slot * 0.7, 1),
                "height": round(TOP + plot_h - y(week.confirmations), 1),
                "week": week,
            }
        )
        points.append(f"{round(x + slot / 2, 1)},{y(week.reminders)}")
        if week.start.day <= 7 and (week.start.month - 1) % 3 == 0:
            labels.append({"x": round(x, 1), "text": week.start.strftime("%b")})
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "baseline": TOP + plot_h,
        "right": WIDTH - 10,
        "top_value": top,
        "top_y": TOP,
        "bars": bars,
        "line": " ".join(points),
        "labels": labels,
        "label_y": TOP + plot_h + 18,
    }


def share_chart(shares: list[YearShare]) -> dict:
    """One bar per year: the percentage of organizations complete."""
    plot_h = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT - 10) / max(len(shares), 1)
    bars = []
    for i, share in enumerate(shares):
        height = round(plot_h * share.percent / 100, 1)
        x = LEFT + i * slot + slot * 0.25
        bars.append(
            {
                "x": round(x, 1),
                "y": round(TOP + plot_h - height, 1),
                "width": round(slot * 0.5, 1),
                "height": height,
                "share": share,
                "label_x": round(x + slot * 0.25, 1),
                "value_y": round(TOP + plot_h - height - 4, 1),
            }
        )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "baseline": TOP + plot_h,
        "right": WIDTH - 10,
        "top_y": TOP,
        "bars": bars,
        "label_y": TOP + plot_h + 18,
    }


# The CSV of organizations not yet confirmed ---------------------------------------------


def not_confirmed(year: int):
    """Organizations with no confirmation in the year, with their rosters (two queries)."""
    return Organization.objects.exclude(Q(_confirmed_in(year))).with_roster().order_by("name", "pk")
