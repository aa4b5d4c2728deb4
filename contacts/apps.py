from django.apps import AppConfig


class ContactsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "contacts"
    verbose_name = "Organizations and contacts"

    def ready(self):
        from contacts import bounces  # noqa: F401 -- connects the bounce receiver to anymail's tracking signal
