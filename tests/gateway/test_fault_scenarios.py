"""Fault scenarios of issue 6: the gateway as a real process, real PostgreSQL, simulated meters.

Each test ends by comparing the set of rows in ``readings`` with the set of
readings the simulated meters served (see ``fault_rig``): equal, and no
reading stored twice.  Simulated time runs 600× real time (a 60 s cycle every
0.1 s), so each scenario covers tens of cycles in a few seconds.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from itertools import pairwise
from pathlib import Path

import psycopg

from tests.gateway.fault_rig import (
    INTERVAL_S,
    REPO,
    GatewayProcess,
    Rig,
    assert_grid_consistent,
    stored_rows,
    write_config,
)


def assert_stored_equals_served(db_dsn: str, the_rig: Rig) -> list:
    rows = stored_rows(db_dsn)
    stored = [(serial, value) for serial, _, value in rows]
    assert not [k for k, n in Counter(stored).items() if n > 1], "a reading stored twice"
    served = the_rig.meters.served_snapshot()
    assert len(set(served)) == len(served)
    assert set(stored) == set(served)
    assert_grid_consistent(rows)
    return rows


def db_count(db_dsn: str) -> int:
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM readings").fetchone()
    return int(row[0]) if row else 0


def test_postgres_unreachable_while_polling_continues(
        tmp_path: Path, db_dsn: str, building: dict[int, str], the_rig: Rig) -> None:
    config = write_config(tmp_path / "gateway.toml", rig=the_rig, db_dsn=db_dsn,
                          serials=building, anchor_unix_s=time.time(), metrics_port=0)
    gw = GatewayProcess(config)
    gw.wait_status(lambda s: s["readings_acknowledged"] >= 6, "first deliveries")
    the_rig.set_proxy("refuse")
    cut = gw.wait_status(lambda s: s["delivery_failures"] >= 1, "the uplink to fail")
    # 10 cycles of 60 s: ten simulated minutes without the database
    down = gw.wait_status(lambda s: s["cycles"] >= cut["cycles"] + 10, "polling to go on")
    stored_during_outage = db_count(db_dsn)  # (a COMMIT in flight at the cut has landed by now)
    later = gw.wait_status(lambda s: s["cycles"] >= down["cycles"] + 5, "more offline cycles")
    assert db_count(db_dsn) == stored_during_outage  # nothing gets through the cut proxy
    assert later["buffer"]["depth"] >= down["buffer"]["depth"] + 3 * 4 >= 3 * 13
    assert later["uplink"]["last_error"] is not None
    down = later

    metrics = urllib.request.urlopen(
        f"http://127.0.0.1:{down['metrics_port']}/metrics", timeout=10).read().decode()
    assert 'gateway_uplink_up{gateway="fault-test"} 0' in metrics
    assert 'gateway_readings_dropped_total{gateway="fault-test",reason="full"} 0' in metrics
    assert "gateway_buffer_depth{" in metrics and "gateway_delivery_failures_total{" in metrics

    the_rig.set_proxy("pass")
    gw.wait_status(lambda s: s["cycles"] >= down["cycles"] + 2 and s["buffer"]["depth"] == 0
                   and s["uplink"]["state"] == "up", "the backlog to drain")
    shown = subprocess.run([sys.executable, "-m", "meterbill", "gateway", "status",
                            "--config", str(config)], cwd=REPO, capture_output=True,
                           text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "gateway fault-test" in shown.stdout
    assert re.search(r"uplink postgres: (up|delivering|down), [1-9][0-9]* failed deliveries",
                     shown.stdout), shown.stdout
    assert gw.terminate() == 0, gw.log()
    final = gw.status()
    assert final is not None and final["running"] is False and final["buffer"]["depth"] == 0
    rows = assert_stored_equals_served(db_dsn, the_rig)
    # a batch whose COMMIT reply the cut swallowed is acknowledged again as duplicates
    assert final["readings_acknowledged"] - final["readings_duplicate"] == len(rows)


def test_sigkill_in_the_middle_of_a_batch_then_restart(
        tmp_path: Path, db_dsn: str, building: dict[int, str], the_rig: Rig) -> None:
    config = write_config(tmp_path / "gateway.toml", rig=the_rig, db_dsn=db_dsn,
                          serials=building, anchor_unix_s=time.time(), batch_size=500)
    text = config.read_text().replace("timeout_seconds = 10\n", "timeout_seconds = 60\n", 1)
    config.write_text(text)
    gw = GatewayProcess(config)
    first = gw.wait_status(lambda s: s["readings_acknowledged"] >= 6, "first deliveries")
    # The server stores the next batch but its confirmation never reaches the gateway.
    the_rig.set_proxy("lose_commit_reply")
    gw.wait_status(lambda s: s["cycles"] >= first["cycles"] + 3, "readings to pile up")
    the_rig.meters.absent.update(building)  # nothing new is served from here on
    served = len(the_rig.meters.served_snapshot())
    snap = gw.wait_status(
        lambda s: s["buffer"]["last_seq"] == served and s["uplink"]["inflight_batch"] is not None
        and db_count(db_dsn) == s["readings_acknowledged"] + s["uplink"]["inflight_size"],
        "a batch stored on the server but not confirmed")
    gw.kill()
    unconfirmed = snap["uplink"]["inflight_size"]
    assert unconfirmed > 0 and snap["buffer"]["depth"] >= unconfirmed

    the_rig.set_proxy("pass")
    the_rig.meters.absent.clear()
    again = GatewayProcess(config)  # same buffer file, same simulated timeline
    after = again.wait_status(lambda s: s["cycles"] >= 3 and s["buffer"]["depth"] == 0
                              and s["readings_acknowledged"] > 0, "the re-send and new cycles")
    assert after["readings_duplicate"] == unconfirmed  # the re-sent batch added nothing
    assert after["buffer"]["last_seq"] > snap["buffer"]["last_seq"]  # seq goes on
    assert again.terminate() == 0, again.log()
    assert_stored_equals_served(db_dsn, the_rig)


def test_a_meter_that_disappears_leaves_a_gap_not_zeros(
        tmp_path: Path, db_dsn: str, building: dict[int, str], the_rig: Rig) -> None:
    config = write_config(tmp_path / "gateway.toml", rig=the_rig, db_dsn=db_dsn,
                          serials=building, anchor_unix_s=time.time())
    gw = GatewayProcess(config)
    start = gw.wait_status(lambda s: s["cycles"] >= 2, "first cycles")
    lost_id = 2
    lost = building[lost_id]
    the_rig.meters.absent.add(lost_id)
    gone = gw.wait_status(lambda s: s["poll_errors"].get(lost, 0) >= 5, "failed polls")
    the_rig.meters.absent.discard(lost_id)
    gw.wait_status(lambda s: s["cycles"] >= gone["cycles"] + 3 and s["buffer"]["depth"] == 0,
                   "the meter to come back")
    assert gw.terminate() == 0, gw.log()
    final = gw.status()
    assert final is not None and start["cycles"] >= 2
    rows = assert_stored_equals_served(db_dsn, the_rig)
    ticks = [at for serial, at, _ in rows if serial == lost]
    others = {at for serial, at, _ in rows if serial != lost}
    gaps = [(a, b) for a, b in pairwise(ticks) if (b - a).total_seconds() > INTERVAL_S]
    assert len(gaps) >= 1
    missing = sum(round((b - a).total_seconds() / INTERVAL_S) - 1 for a, b in gaps)
    assert missing >= final["poll_errors"][lost] >= 5
    a, b = max(gaps, key=lambda g: g[1] - g[0])
    assert any(a < at < b for at in others)  # the others were read while it was gone
    assert all(value > 0 for _, _, value in rows)


def test_a_full_buffer_drops_the_oldest_and_counts_them(
        tmp_path: Path, db_dsn: str, building: dict[int, str], the_rig: Rig) -> None:
    bound, batch = 30, 10
    the_rig.set_proxy("refuse")  # the database is unreachable from the start
    config = write_config(tmp_path / "gateway.toml", rig=the_rig, db_dsn=db_dsn,
                          serials=building, anchor_unix_s=time.time(),
                          max_readings=bound, batch_size=batch)
    gw = GatewayProcess(config)
    full = gw.wait_status(lambda s: s["readings_dropped"]["full"] >= 15, "the bound to bite")
    assert full["buffer"]["depth"] <= bound + batch
    the_rig.set_proxy("pass")
    restored_at = len(the_rig.meters.served_snapshot())
    gw.wait_status(lambda s: s["buffer"]["depth"] == 0 and s["readings_acknowledged"] > 0,
                   "the buffer to empty")
    assert gw.terminate() == 0, gw.log()
    final = gw.status()
    assert final is not None
    served = the_rig.meters.served_snapshot()
    rows = stored_rows(db_dsn)
    stored = {(serial, value) for serial, _, value in rows}
    assert len(stored) == len(rows) and stored <= set(served)
    dropped = [r for r in served if r not in stored]
    assert final["readings_dropped"] == {"full": len(dropped), "age": 0}
    # oldest first: only readings of the first (dropped + one batch) can be missing
    assert set(dropped) <= set(served[:len(dropped) + batch])
    assert set(served[restored_at:]) <= stored
    assert_grid_consistent(rows)


def test_sighup_reloads_the_config_and_keeps_the_buffer(
        tmp_path: Path, db_dsn: str, building: dict[int, str], the_rig: Rig) -> None:
    first_two = {d: s for d, s in building.items() if d != 3}
    the_rig.set_proxy("refuse")  # readings stay buffered across the reload
    anchor = time.time()
    config = write_config(tmp_path / "gateway.toml", rig=the_rig, db_dsn=db_dsn,
                          serials=first_two, anchor_unix_s=anchor)
    gw = GatewayProcess(config)
    before = gw.wait_status(lambda s: s["buffer"]["depth"] >= 6, "readings buffered")
    good = config.read_text()
    config.write_text(good.replace("interval_seconds = 60", "interval_seconds = 7"))
    gw.proc.send_signal(signal.SIGHUP)
    gw.wait_status(lambda s: s["cycles"] >= before["cycles"] + 3, "cycles after a bad reload")
    assert "reload refused" in gw.log() and "interval_seconds = 7" in gw.log()
    assert gw.status()["config_generation"] == 1  # type: ignore[index]

    write_config(config, rig=the_rig, db_dsn=db_dsn, serials=building, anchor_unix_s=anchor)
    gw.proc.send_signal(signal.SIGHUP)
    third = building[3]
    reloaded = gw.wait_status(lambda s: s["config_generation"] == 2, "the reload")
    assert reloaded["buffer"]["last_seq"] >= before["buffer"]["last_seq"]
    gw.wait_status(lambda s: s["readings_polled"] > reloaded["readings_polled"] + 3,
                   "the new meter to be polled")
    assert any(serial == third for serial, _ in the_rig.meters.served_snapshot())
    the_rig.set_proxy("pass")
    gw.wait_status(lambda s: s["buffer"]["depth"] == 0 and s["readings_acknowledged"] > 0,
                   "the buffer to drain")
    assert gw.terminate() == 0, gw.log()
    rows = assert_stored_equals_served(db_dsn, the_rig)
    assert {serial for serial, _, _ in rows} == set(building.values())


def test_sigterm_while_offline_keeps_the_rest_for_the_next_start(
        tmp_path: Path, db_dsn: str, building: dict[int, str], the_rig: Rig) -> None:
    the_rig.set_proxy("refuse")
    config = write_config(tmp_path / "gateway.toml", rig=the_rig, db_dsn=db_dsn,
                          serials=building, anchor_unix_s=time.time())
    config.write_text(config.read_text().replace("[uplink]\n", "[uplink]\ndrain_seconds = 0.5\n"))
    gw = GatewayProcess(config)
    gw.wait_status(lambda s: s["buffer"]["depth"] >= 9, "readings buffered while offline")
    assert gw.terminate() == 0, gw.log()  # drains for 0.5 s, cannot deliver, exits cleanly
    left = gw.status()
    assert left is not None and left["running"] is False and left["buffer"]["depth"] >= 9
    assert "drain timed out" in gw.log()
    assert db_count(db_dsn) == 0

    the_rig.set_proxy("pass")
    again = GatewayProcess(config)
    again.wait_status(lambda s: s["buffer"]["depth"] == 0 and s["readings_acknowledged"]
                      >= left["buffer"]["depth"], "the kept readings to be delivered")
    assert again.terminate() == 0, again.log()
    assert_stored_equals_served(db_dsn, the_rig)
