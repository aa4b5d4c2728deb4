"""Store every person's email address in its canonical form (pars.addresses).

A row whose canonical form another row already has, or would have, is left as it
was and reported, as is a row whose address is no longer accepted (an invisible
character, a reserved domain): nobody is lost, and CME staff merge or correct them.
"""

import logging
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import migrations

from pars.addresses import email_canonical

logger = logging.getLogger("accounts.migrations")


def _report(message):
    logger.warning(message)
    # migrate prints its progress to standard output: whoever runs it reads this there.
    print(f"\n  {message}", end="")


def canonicalize(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    by_canonical = defaultdict(list)
    for pk, email in User.objects.order_by("pk").values_list("pk", "email"):
        try:
            by_canonical[email_canonical(email)].append((pk, email))
        except ValidationError as error:
            _report(f"accounts: person {pk} <{email!r}> kept as it was: {' '.join(error.messages)}")
    for canonical, rows in by_canonical.items():
        if len(rows) > 1:
            people = ", ".join(f"{pk} <{email!r}>" for pk, email in rows)
            _report(f"accounts: people {people} share the address {canonical!r}; kept as they were, to merge")
            continue
        pk, email = rows[0]
        if email != canonical:
            User.objects.filter(pk=pk).update(email=canonical)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_control_characters_refused")]

    operations = [migrations.RunPython(canonicalize, migrations.RunPython.noop)]
