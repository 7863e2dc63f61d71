"""Prometheus exposition and the status text show the same snapshot."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from gateway.buffer import BufferState
from gateway.metrics import GatewayMetrics, MetricsServer, format_status, render_prometheus

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
SAMPLE = re.compile(r'^([a-z_]+)\{((?:[a-z_]+="(?:[^"\\]|\\.)*",?)*)\} (-?[0-9.e+]+)$')


def snapshot() -> dict:
    metrics = GatewayMetrics('gw "north"', readings_polled=120, readings_acknowledged=90,
                             poll_errors={"SDM-1": 4}, uplink_state="down",
                             last_uplink_error="cannot connect", delivery_failures=3)
    state = BufferState(depth=30, oldest_read_at=NOW - timedelta(minutes=30), dropped_full=7,
                        dropped_age=1, last_seq=127)
    return metrics.snapshot(state, NOW)


def test_every_sample_line_is_valid_exposition_format_with_help_and_type() -> None:
    text = render_prometheus(snapshot())
    names = set()
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-z_]+ .+$", line), line
            continue
        match = SAMPLE.match(line)
        assert match, line
        names.add(match.group(1))
    for name in names:
        assert f"# TYPE {name} " in text and f"# HELP {name} " in text
    assert all(n.endswith("_total") for n in names if f"# TYPE {n} counter" in text)


def test_values_match_the_snapshot_and_labels_are_escaped() -> None:
    text = render_prometheus(snapshot())
    gw = 'gateway="gw \\"north\\""'
    assert f"gateway_readings_polled_total{{{gw}}} 120" in text
    assert f'gateway_readings_dropped_total{{{gw},reason="full"}} 7' in text
    assert f'gateway_readings_dropped_total{{{gw},reason="age"}} 1' in text
    assert f'gateway_poll_errors_total{{{gw},device="SDM-1"}} 4' in text
    assert f'gateway_uplink_state{{{gw},uplink="postgres",state="down"}} 1' in text
    assert f"gateway_uplink_up{{{gw}}} 0" in text
    assert f"gateway_buffer_depth{{{gw}}} 30" in text
    assert f"gateway_buffer_oldest_age_seconds{{{gw}}} 1800" in text


def test_status_text_names_the_same_numbers() -> None:
    text = format_status(snapshot())
    assert "120 polled" in text and "90 acknowledged" in text
    assert "dropped: 7 (buffer full), 1 (too old)" in text
    assert "buffer: 30 readings, oldest 1800 s old, last seq 127" in text
    assert "uplink postgres: down, 3 failed deliveries, last error: cannot connect" in text
    assert "poll errors SDM-1: 4" in text


def test_metrics_server_answers_metrics_and_404_otherwise() -> None:
    async def main() -> tuple[bytes, bytes]:
        server = MetricsServer(lambda: render_prometheus(snapshot()), "127.0.0.1", 0)
        port = await server.start()
        try:
            answers = []
            for path in ("/metrics", "/other"):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                answers.append(await reader.read())
                writer.close()
            return answers[0], answers[1]
        finally:
            await server.stop()

    ok, missing = asyncio.run(main())
    assert ok.startswith(b"HTTP/1.0 200 OK") and b"text/plain; version=0.0.4" in ok
    assert b"gateway_buffer_depth" in ok
    assert missing.startswith(b"HTTP/1.0 404")
