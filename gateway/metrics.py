"""What a running gateway reports: Prometheus ``/metrics`` and a status file.

One ``GatewayMetrics`` object is updated by the pollers and the forwarder; a
``snapshot()`` of it feeds both outputs, so ``meterbill gateway status`` and
Prometheus always tell the same story.

* ``/metrics`` is the Prometheus text exposition format 0.0.4 (prometheus.io,
  "Exposition formats"), served by a tiny asyncio HTTP server.  It is written
  here rather than with ``prometheus-client`` because the gateway's state
  already lives in one object and the format is a dozen lines; one dependency
  less on a small edge box.
* The status file is JSON, replaced atomically (write to a temporary file,
  ``os.replace``) every ``status.interval_seconds`` and at exit, so a reader
  never sees half a file.  A file, not a socket: it is readable after the
  gateway died, which is when an operator most wants to know what it last saw.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway.buffer import BufferState

UPLINK_STATES = ("starting", "up", "down", "delivering")


@dataclass(slots=True)
class GatewayMetrics:
    gateway: str
    pid: int = field(default_factory=os.getpid)
    config_generation: int = 1
    cycles: int = 0
    missed_cycles: int = 0
    readings_polled: int = 0
    readings_buffered: int = 0
    readings_sent: int = 0
    readings_acknowledged: int = 0
    readings_duplicate: int = 0
    batches_acknowledged: int = 0
    delivery_failures: int = 0
    poll_errors: dict[str, int] = field(default_factory=dict)  # by device serial
    uplink_kind: str = "postgres"
    uplink_state: str = "starting"
    last_uplink_error: str | None = None
    inflight_batch: str | None = None
    inflight_size: int = 0
    metrics_port: int | None = None
    running: bool = True

    def snapshot(self, buffer: BufferState, now: datetime) -> dict[str, Any]:
        oldest_age_s = ((now - buffer.oldest_read_at).total_seconds()
                        if buffer.oldest_read_at is not None else 0.0)
        return {
            "gateway": self.gateway,
            "pid": self.pid,
            "running": self.running,
            "now": now.isoformat(),
            "config_generation": self.config_generation,
            "cycles": self.cycles,
            "missed_cycles": self.missed_cycles,
            "readings_polled": self.readings_polled,
            "readings_buffered": self.readings_buffered,
            "readings_sent": self.readings_sent,
            "readings_acknowledged": self.readings_acknowledged,
            "readings_duplicate": self.readings_duplicate,
            "batches_acknowledged": self.batches_acknowledged,
            "delivery_failures": self.delivery_failures,
            "readings_dropped": {"full": buffer.dropped_full, "age": buffer.dropped_age},
            "readings_rejected": buffer.rejected,
            "poll_errors": dict(self.poll_errors),
            "uplink": {"kind": self.uplink_kind, "state": self.uplink_state,
                       "last_error": self.last_uplink_error,
                       "inflight_batch": self.inflight_batch,
                       "inflight_size": self.inflight_size},
            "buffer": {"depth": buffer.depth, "oldest_age_seconds": oldest_age_s,
                       "last_seq": buffer.last_seq},
            "metrics_port": self.metrics_port,
        }


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render_prometheus(snap: dict[str, Any]) -> str:
    """The snapshot in Prometheus text format (counters end in ``_total``)."""
    gw = f'gateway="{_label(snap["gateway"])}"'
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str,
               samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lines.append(f"{name}{{{gw}{labels}}} {value:g}")

    def counter(name: str, help_text: str, value: float) -> None:
        metric(name, "counter", help_text, [("", value)])

    def gauge(name: str, help_text: str, value: float) -> None:
        metric(name, "gauge", help_text, [("", value)])

    counter("gateway_cycles_total", "Poll cycles run.", snap["cycles"])
    counter("gateway_missed_cycles_total", "Grid instants skipped because a cycle overran.",
            snap["missed_cycles"])
    counter("gateway_readings_polled_total", "Readings read from meters.",
            snap["readings_polled"])
    counter("gateway_readings_buffered_total", "Readings written to the local buffer.",
            snap["readings_buffered"])
    counter("gateway_readings_sent_total", "Readings handed to the uplink (with re-sends).",
            snap["readings_sent"])
    counter("gateway_readings_acknowledged_total", "Readings the server confirmed.",
            snap["readings_acknowledged"])
    counter("gateway_readings_duplicate_total", "Confirmed readings the server already had.",
            snap["readings_duplicate"])
    counter("gateway_delivery_failures_total", "Batches the uplink failed to deliver.",
            snap["delivery_failures"])
    metric("gateway_readings_dropped_total", "counter",
           "Readings dropped by the buffer bound (oldest first), by reason.",
           [(f',reason="{reason}"', count) for reason, count in snap["readings_dropped"].items()])
    gauge("gateway_readings_rejected", "Readings the server refused, kept aside in the buffer.",
          snap.get("readings_rejected", 0))
    metric("gateway_poll_errors_total", "counter", "Failed reads, by device serial.",
           [(f',device="{_label(serial)}"', count)
            for serial, count in sorted(snap["poll_errors"].items())])
    metric("gateway_uplink_state", "gauge", "1 for the uplink's current state.",
           [(f',uplink="{snap["uplink"]["kind"]}",state="{state}"',
             1 if snap["uplink"]["state"] == state else 0) for state in UPLINK_STATES])
    gauge("gateway_uplink_up", "1 when the last delivery succeeded.",
          1 if snap["uplink"]["state"] in ("up", "delivering") and
          snap["uplink"]["last_error"] is None else 0)
    gauge("gateway_buffer_depth", "Readings waiting in the buffer.", snap["buffer"]["depth"])
    gauge("gateway_buffer_oldest_age_seconds", "Age of the oldest buffered reading.",
          snap["buffer"]["oldest_age_seconds"])
    return "\n".join(lines) + "\n"


def write_status(path: Path, snap: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(snap, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def read_status(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def format_status(snap: dict[str, Any]) -> str:
    """The status for people: one fact a line, as ``meterbill gateway status`` prints it."""
    up = snap["uplink"]
    buf = snap["buffer"]
    lines = [
        f"gateway {snap['gateway']} (pid {snap['pid']}, "
        f"{'running' if snap['running'] else 'stopped'}) at {snap['now']}",
        f"cycles: {snap['cycles']} run, {snap['missed_cycles']} missed",
        f"readings: {snap['readings_polled']} polled, {snap['readings_buffered']} buffered, "
        f"{snap['readings_sent']} sent, {snap['readings_acknowledged']} acknowledged, "
        f"{snap['readings_duplicate']} already on the server",
        f"dropped: {snap['readings_dropped']['full']} (buffer full), "
        f"{snap['readings_dropped']['age']} (too old); "
        f"{snap.get('readings_rejected', 0)} refused by the server, kept aside",
        f"buffer: {buf['depth']} readings, oldest {buf['oldest_age_seconds']:.0f} s old, "
        f"last seq {buf['last_seq']}",
        f"uplink {up['kind']}: {up['state']}, {snap['delivery_failures']} failed deliveries"
        + (f", last error: {up['last_error']}" if up["last_error"] else ""),
    ]
    for serial, count in sorted(snap["poll_errors"].items()):
        lines.append(f"poll errors {serial}: {count}")
    if snap.get("metrics_port"):
        lines.append(f"metrics: http://127.0.0.1:{snap['metrics_port']}/metrics")
    return "\n".join(lines)


class MetricsServer:
    """``GET /metrics`` over HTTP/1.0 (one response per connection, as Prometheus scrapes)."""

    def __init__(self, render: Any, host: str, port: int) -> None:
        self._render = render
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            path = request.split(b" ", 2)[1] if request.count(b" ") >= 2 else b""
            if path.split(b"?")[0] == b"/metrics":
                body = self._render().encode()
                head = (b"HTTP/1.0 200 OK\r\n"
                        b"Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n")
            else:
                body = b"not found: try /metrics\n"
                head = b"HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n"
            writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
