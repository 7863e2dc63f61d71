"""CLI: bank import (twice), reconcile run, ledger verify before and after a forgery."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg
from typer.testing import CliRunner

from api.bank.import_cli import app as bank_app
from api.dunning.cli import app as dunning_app
from api.invoices.service import InvoiceLine, create_invoice
from api.ledger.cli import app as ledger_app
from api.reconciliation.cli import app as reconcile_app
from tests.ledger.seed import seed_estate
from tests.reconciliation.mt940_text import Line, mt940

runner = CliRunner()


def test_import_reconcile_verify_from_the_command_line(db_dsn: str, tmp_path: Path) -> None:
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        estate = seed_estate(conn, ["Anna Müller"])
        invoice = create_invoice(conn, ledger_id=estate.ledger_id,
                                 tenant_id=estate.tenant_ids[0],
                                 property_id=estate.property_id, unit_id=estate.unit_ids[0],
                                 issued_on=date(2026, 3, 1), due_on=date(2026, 3, 3),
                                 currency="EUR", lines=[InvoiceLine("rent", 80000)])
    file = tmp_path / "march.sta"
    file.write_text(mt940("S1", "DE02120300000000202051", "C0,00", "C800,00", "260305",
                          [Line("260305", "800,00", purpose=invoice.number)]))
    first = runner.invoke(bank_app, ["import", str(file), "--dsn", db_dsn])
    assert first.exit_code == 0, first.output
    assert "1 new entries" in first.output
    second = runner.invoke(bank_app, ["import", str(file), "--dsn", db_dsn])
    assert "0 new entries" in second.output and "duplicate" in second.output
    broken = tmp_path / "broken.sta"
    broken.write_text(file.read_text().replace("800,00", "8x0,00", 1))
    refused = runner.invoke(bank_app, ["import", str(broken), "--dsn", db_dsn])
    assert refused.exit_code == 1 and "broken.sta" in refused.output
    dunned = runner.invoke(dunning_app, ["run", "--dsn", db_dsn, "--as-of", "2026-03-11"])
    assert dunned.exit_code == 0, dunned.output
    assert '"name": "reminder"' in dunned.output and '"invoice": "RE2026' in dunned.output
    ran = runner.invoke(reconcile_app, ["run", "--dsn", db_dsn, "--ledger", "P1"])
    assert ran.exit_code == 0 and "1 booked" in ran.output, ran.output
    ok = runner.invoke(ledger_app, ["verify", "--dsn", db_dsn])
    assert ok.exit_code == 0 and "ok: 3 transactions" in ok.output
    with psycopg.connect(db_dsn) as conn:
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("UPDATE ledger_transactions SET booked_on = '2026-03-04' WHERE seq = 2")
    # seq 2 is the reminder's interest booking
    bad = runner.invoke(ledger_app, ["verify", "--dsn", db_dsn])
    assert bad.exit_code == 1
    assert "BROKEN: ledger" in bad.output and "seq 2" in bad.output, bad.output
