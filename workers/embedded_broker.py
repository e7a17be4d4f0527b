"""The embedded broker: kombu's filesystem transport, made safe for a worker that is killed, or that reads while
another process writes.

kombu writes a message by creating its file under the name readers look for, then writing it; a reader that
lists the folder in between, or a writer killed in between (`kill -9`, a power cut), leaves an empty or cut
file that the reader takes and fails to decode, and the worker stops with "Unrecoverable error". Here a message
is written under a name no reader takes and renamed when whole (a rename within a folder is atomic), and a
file that still does not decode is logged and dropped instead of stopping the worker: a sync it carried is sent
again by the dispatcher, every task being idempotent."""

import logging
import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

log = logging.getLogger(__name__)

TRANSPORT = "workers.embedded_broker:Transport"  # Celery's broker_transport setting


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        # A leading dot: readers take files named "<stamp>_<uuid>.<queue>.msg" only.
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"Cannot add file {name!r} to directory") from exc

    def _get(self, queue: str) -> Any:
        while True:  # each try takes a file off the folder: it ends with a message, or Empty
            try:
                return super()._get(queue)
            except ValueError as exc:  # one bad file must not stop the worker
                log.warning("embedded broker: dropped a message of queue %s that does not decode (%s)", queue, exc)


class Transport(filesystem.Transport):
    Channel = Channel
