"""What every uplink promises: a batch is confirmed by the server, or it stays buffered.

The store-and-forward buffer hands out ``ReadingBatch``es; an uplink's
``deliver`` returns only after the server has durably stored the batch (the
PostgreSQL uplink: its transaction committed; the MQTT uplink: the ingest
worker's acknowledgement for that ``batch_id`` arrived) and raises
``UplinkError`` otherwise.  Only then does the buffer delete the batch.  The
server's insert is idempotent on (meter, register, read_at), so a batch
delivered twice (ack lost, gateway restarted) still stores each reading once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gateway.reading import Reading


@dataclass(frozen=True, slots=True)
class ReadingBatch:
    gateway_id: str
    batch_id: str  # unique per gateway, stable across re-sends (e.g. "<first seq>-<last seq>")
    readings: tuple[Reading, ...]


class Uplink(Protocol):
    name: str

    async def deliver(self, batch: ReadingBatch) -> None:
        """Return once the server confirmed ``batch``; raise UplinkError if it did not."""
        ...

    async def close(self) -> None:
        ...
