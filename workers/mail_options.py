"""The mail pipeline's typed options, built once from the settings (the composition root's job)."""

from crm_core.settings import Settings
from mailbridge.message import NormaliseOptions, TrackingTokens
from mailbridge.tracking import TrackingOptions

MiB = 1024 * 1024


def tracking_options(settings: Settings) -> TrackingOptions:
    return TrackingOptions(
        normalise=NormaliseOptions(
            max_message_bytes=settings.mail_max_message_mb * MiB,
            max_attachment_bytes=settings.mail_max_attachment_mb * MiB,
            tokens=TrackingTokens(prefix=settings.mail_token_prefix),
        ),
        block_list=tuple(settings.mail_block_list),
        party_matching=settings.mail_party_matching,
        smart_matching=settings.mail_smart_matching,
        smart_matching_days=settings.mail_smart_matching_days,
        batch_size=settings.mail_sync_batch_size,
    )
