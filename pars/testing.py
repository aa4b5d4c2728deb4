"""Test helpers shared by every app: run the email queue to completion, in-process, through the real worker."""

from unittest import mock

from django.core import mail
from django_tasks_db.management.commands import db_worker


def run_email_worker() -> list:
    """Run db_worker's own loop in batch mode until no task is due, then return the emails sent (mail.outbox).

    The worker's loop is django-tasks-db's, unchanged, but for one thing: it
    closes stale database connections between tasks, which inside a test's
    transaction would mark that transaction for rollback.
    """
    worker = db_worker.Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    with mock.patch.object(db_worker, "close_old_connections"):
        worker.run()
    return mail.outbox
