from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("contacts", "0002_exactly_one_primary_trigger")]

    operations = []
