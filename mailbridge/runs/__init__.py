"""Running mailbox syncs as jobs (issue 8): one worker per mailbox at a time (a lease), each pass recorded as a
run, its outcome turned by one policy into the mailbox's next state (retry with back-off, park, stop), and the
dispatcher that finds which mailboxes are due. Celery's tasks (workers.tasks) are thin calls into this."""

from mailbridge.runs.policy import RunPolicy
from mailbridge.runs.runner import RunResult, run_mailbox_sync

__all__ = ["RunPolicy", "RunResult", "run_mailbox_sync"]
