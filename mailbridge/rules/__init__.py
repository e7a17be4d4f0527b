"""Email-to-case (docs/email-to-case.md): the active case creation rule of a queue run on each incoming mail its
mailbox tracks: a new case (and contact) for the sender, a reply added to its case or reopening it, an
acknowledgement left Pending Send for the sender, and never a loop: no case, contact or acknowledgement for
machine mail, no acknowledgement to our own addresses, acknowledgements limited per sender and day.

The pipeline (mailbridge.tracking.pipeline) calls `run_case_rules` once per new email activity, in the
message's savepoint, so the decision commits with the activity and a rerun never decides twice."""

from mailbridge.rules.engine import run_case_rules

__all__ = ["run_case_rules"]
