from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from pars import bench, views

admin.site.site_header = f"PARS contacts — {settings.ACCREDITOR_SHORT_NAME} CME staff"
admin.site.site_title = f"PARS contacts admin · {settings.ACCREDITOR_SHORT_NAME}"
admin.site.index_title = "Organizations, contacts and their history"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("contacts.urls")),
]

# The mail provider's bounce reports (Postmark's format, only), and only with a secret: anymail would
# accept unauthenticated ones.
if settings.ANYMAIL["WEBHOOK_SECRET"]:
    urlpatterns.insert(
        0,
        path(
            "anymail/postmark/tracking/",
            PostmarkTrackingWebhookView.as_view(),
            name="postmark_tracking_webhook",
        ),
    )
if settings.PARS_BENCH_VIEWS:
    urlpatterns += [
        path("bench/bare", bench.bare, name="bench_bare"),
        path("bench/signed-in", bench.SignedInView.as_view(), name="bench_signed_in"),
        path("bench/floor", bench.FloorView.as_view(), name="bench_floor"),
    ]

handler404 = "pars.views.page_not_found"
handler500 = "pars.views.server_error"
