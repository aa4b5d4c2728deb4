from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from pars import views

admin.site.site_header = "PARS contacts — CME staff"
admin.site.site_title = "PARS contacts admin"
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

handler404 = "pars.views.page_not_found"
handler500 = "pars.views.server_error"
