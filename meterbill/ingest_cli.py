"""``meterbill ingest run``: one server-side ingest worker (MQTT → PostgreSQL).

Run as many as the load needs, with the same ``--group``: they share one MQTT 5
shared subscription and the broker spreads the batches over them.  The
database is ``METERBILL_DSN``; the MQTT password comes from
``METERBILL_MQTT_PASSWORD`` (never from the command line, where ``ps`` would
show it).  SIGTERM and SIGINT finish the batch being written, then exit 0.

Once subscribed, the worker prints ``ingest worker <client id> subscribed to
<subscription>`` on stderr, which scripts and tests wait for.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr, ValidationError

from gateway.ingest_worker import IngestWorker
from gateway.mqtt_connection import MqttSettings
from meterbill.cli_support import fail

app = typer.Typer(no_args_is_help=True, help="Server-side ingest of gateway batches.")


@app.callback()
def _ingest() -> None:
    """Server-side ingest of gateway batches."""


@app.command()
def run(
    mqtt_host: Annotated[str, typer.Option(help="MQTT broker host.")] = "127.0.0.1",
    mqtt_port: Annotated[int, typer.Option(help="MQTT broker port.")] = 1883,
    prefix: Annotated[str, typer.Option(help="Topic prefix: meterbill/<prefix>/ingest/+")]
        = "default",
    group: Annotated[str, typer.Option(help="Shared subscription group.")] = "ingest",
    client_id: Annotated[str | None, typer.Option(help="MQTT client id (default: random).")]
        = None,
    username: Annotated[str | None, typer.Option(help="MQTT user name.")] = None,
    tls: Annotated[bool, typer.Option("--tls/--no-tls", help="Connect with TLS.")] = False,
    ca_file: Annotated[Path | None, typer.Option(help="CA bundle for TLS.")] = None,
    cert_file: Annotated[Path | None, typer.Option(help="Client certificate (TLS).")] = None,
    key_file: Annotated[Path | None, typer.Option(help="Client key (TLS).")] = None,
    receive_maximum: Annotated[int, typer.Option(
        min=1, max=65535, help="Batches the broker may hand this worker before its acks.")] = 4,
) -> None:
    """Consume batches from MQTT and store them idempotently in PostgreSQL."""
    dsn = os.environ.get("METERBILL_DSN")
    if not dsn:
        raise fail("METERBILL_DSN is not set: the ingest worker needs the server's database")
    password = os.environ.get("METERBILL_MQTT_PASSWORD")
    try:
        settings = MqttSettings(
            host=mqtt_host, port=mqtt_port, prefix=prefix, username=username,
            password=SecretStr(password) if password else None, tls=tls, ca_file=ca_file,
            cert_file=cert_file, key_file=key_file)
        worker = IngestWorker(settings, dsn, group, client_id, receive_maximum)
    except (ValidationError, ValueError) as exc:
        raise fail(f"invalid ingest settings: {exc}") from None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker.start()
    announced = False
    while not stop.wait(0.2):
        if not announced and worker.ready:
            print(f"ingest worker {worker.client_id} subscribed to {worker.subscription}",
                  file=sys.stderr, flush=True)
            announced = True
    worker.stop()
    s = worker.stats
    print(f"ingest worker {worker.client_id}: {s.batches_stored} batches stored "
          f"({s.readings_inserted} readings new, {s.readings_duplicate} duplicate, "
          f"{s.readings_quarantined} quarantined), {s.batches_rejected} rejected, "
          f"{s.batches_retry} to retry", file=sys.stderr, flush=True)


if __name__ == "__main__":
    app()
