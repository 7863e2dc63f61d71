"""The direct uplink: a batch goes into PostgreSQL through the readings write contract.

``deliver`` returns after ``write_readings`` committed (COPY into staging plus
``INSERT … ON CONFLICT DO NOTHING`` in one transaction), which is the server's
confirmation the buffer waits for.  A batch re-sent after a lost commit reply
adds nothing, so "deliver, crash before ack, deliver again" stores each
reading once.

psycopg's connection here is synchronous (the write contract is shared with
the ingest workers), so the write runs on a daemon thread while the event
loop keeps polling.  A delivery that does not finish within ``timeout_s``
counts as failed; its connection is abandoned (a half-done transaction is
rolled back by the server when the socket dies) and the next attempt opens a
new one.  The gateway's name travels as ``application_name`` so the server's
``pg_stat_activity`` shows which gateway is writing.  A batch the database
refuses as it is (a data exception or constraint violation) raises
``BatchRejectedError``, so the buffer can find and set aside the refused
readings instead of retrying them for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

import psycopg

from gateway.errors import UplinkError
from gateway.mqtt_uplink import BatchRejectedError
from gateway.readings_writer import WriteResult, write_readings
from gateway.uplink import ReadingBatch

T = TypeVar("T")


async def _on_daemon_thread(fn: Callable[[], T], timeout_s: float) -> T:
    """Run ``fn`` on a daemon thread; a stuck call cannot block shutdown of the process."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():
            outcome()

    def work() -> None:
        try:
            result = fn()
        except BaseException as exc:  # handed to the awaiting coroutine
            error = exc
            loop.call_soon_threadsafe(settle, lambda: future.set_exception(error))
        else:
            loop.call_soon_threadsafe(settle, lambda: future.set_result(result))

    threading.Thread(target=work, name="postgres-uplink", daemon=True).start()
    return await asyncio.wait_for(asyncio.shield(future), timeout=timeout_s)


class PostgresUplink:
    name = "postgres"

    def __init__(self, dsn: str, *, gateway_id: str, timeout_s: float = 30.0,
                 connect_timeout_s: int = 10) -> None:
        self._dsn = dsn
        self._gateway_id = gateway_id
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._conn: psycopg.Connection | None = None
        self.last_result: WriteResult | None = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(
                self._dsn, autocommit=True, connect_timeout=self._connect_timeout_s,
                application_name=f"meterbill-gateway {self._gateway_id}"[:63],
                keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3,
            )
        return self._conn

    def _write(self, batch: ReadingBatch) -> WriteResult:
        try:
            conn = self._connection()
        except psycopg.Error as exc:
            raise UplinkError(f"uplink postgres: cannot connect: {exc}") from exc
        return write_readings(conn, batch.readings)

    def _abandon(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            # Closing from here may race the stuck thread; cancel on the server instead
            # and let the daemon thread close its socket when the call returns.
            threading.Thread(target=_cancel_quietly, args=(conn,), daemon=True).start()

    async def deliver(self, batch: ReadingBatch) -> None:
        try:
            self.last_result = await _on_daemon_thread(lambda: self._write(batch),
                                                       self._timeout_s)
        except TimeoutError:
            self._abandon()
            raise UplinkError(f"uplink postgres: batch {batch.batch_id} not confirmed "
                              f"within {self._timeout_s:g} s") from None
        except UplinkError as exc:
            if isinstance(exc.__cause__, psycopg.errors.DataError | psycopg.errors.IntegrityError):
                # The database refused the readings themselves (SQLSTATE class 22 or 23): the
                # transaction rolled back, the connection is fine, and re-sending cannot help.
                raise BatchRejectedError(batch.batch_id, str(exc)) from exc
            self._abandon()
            raise
        except psycopg.Error as exc:
            self._abandon()
            raise UplinkError(f"uplink postgres: batch {batch.batch_id}: {exc}") from exc

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            threading.Thread(target=_close_quietly, args=(conn,), daemon=True).start()


def _cancel_quietly(conn: psycopg.Connection) -> None:
    with contextlib.suppress(Exception):  # the server may be unreachable; nothing to do
        conn.cancel_safe(timeout=5)
    # Not closed here: PQfinish while the stuck thread still uses the connection would
    # free memory under it.  The connection is closed when that thread lets go of it.


def _close_quietly(conn: psycopg.Connection) -> None:
    with contextlib.suppress(Exception):  # closing a dead connection may raise; it is gone
        conn.close()
