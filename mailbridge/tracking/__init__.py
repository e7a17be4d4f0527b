"""Mail tracking: every mail in and out of a synced mailbox logged once as an email activity, against the
right records, with an explainable link, checkpoints that make a killed sync safe to rerun, and a quarantine
for what cannot be read (docs/mail-tracking.md).

One driver, `sync_source`, over any mail source (mailbridge.sources), with its two uses: `sync_mailbox` (the
mailbox's server, per folder and batch) and `import_local` (Maildir, mbox). One batch: `track_items`; one
message: `track_item`. Each step is a module of its own: blocklist, dedupe, correlate_token, correlate_headers,
correlate_subject (correlation runs them in order), parties, filtering, unknown_senders, explanation,
persist, sightings, quarantine, checkpoints."""

from mailbridge.tracking.imap_sync import sync_mailbox
from mailbridge.tracking.local_import import import_local
from mailbridge.tracking.options import TrackingOptions
from mailbridge.tracking.pipeline import track_item, track_items
from mailbridge.tracking.quarantine import REASONS as QUARANTINE_REASONS
from mailbridge.tracking.results import FolderSummary, Outcome, Progress, ProgressEvent, SourceItem, SyncSummary
from mailbridge.tracking.source_sync import sync_source

__all__ = [
    "QUARANTINE_REASONS",
    "FolderSummary",
    "Outcome",
    "Progress",
    "ProgressEvent",
    "SourceItem",
    "SyncSummary",
    "TrackingOptions",
    "import_local",
    "sync_mailbox",
    "sync_source",
    "track_item",
    "track_items",
]
