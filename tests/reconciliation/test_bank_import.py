"""Bank import: idempotent, atomic, balance continuity, every shared sample."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from api.bank.errors import StatementError, StatementFormatError
from api.bank.importer import ImportRefusedError, import_bytes, import_file
from tests.reconciliation.mt940_text import Line, mt940

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "bank"
if not VECTORS.is_dir():
    VECTORS = Path("/work/shared/vectors/bank")
SAMPLE_SUFFIXES = (".xml", ".sta", ".txt", ".csv")
ACCOUNT = "DE02120300000000202051"


def _count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # table names are ours
    assert row is not None
    return int(row[0])


def test_every_shared_sample_imports_once_and_twice_adds_nothing(
        db_conn: psycopg.Connection) -> None:
    samples = sorted(p for p in VECTORS.glob("*/*") if p.suffix in SAMPLE_SUFFIXES
                     and p.parent.name != "licenses")
    assert len(samples) >= 20
    imported = 0
    for sample in samples:
        if sample.name == "cmxl_statement-details-mt940.txt":
            # A :61:/:86: fragment without :25: names no account: refused, naming the file.
            with pytest.raises(ImportRefusedError, match=sample.name):
                import_file(db_conn, sample)
            continue
        first = import_file(db_conn, sample)
        imported += first.entries_added
        entries = _count(db_conn, "bank_entries")
        statements = _count(db_conn, "bank_statements")
        again = import_file(db_conn, sample)
        assert again.entries_added == 0, sample.name
        assert all(s.status == "duplicate" for s in again.statements), sample.name
        assert (_count(db_conn, "bank_entries"), _count(db_conn, "bank_statements")) == (
            entries, statements)
    assert imported == _count(db_conn, "bank_entries") > 50


def test_batched_camt_entry_becomes_one_row_per_transaction(db_conn: psycopg.Connection) -> None:
    report = import_file(db_conn, VECTORS / "camt054" / "genkgo_camt054.v8.xml")
    assert report.entries_added == 3
    rows = db_conn.execute("SELECT amount_minor, credit_debit FROM bank_entries "
                           "ORDER BY id").fetchall()
    assert len(rows) == 3 and all(cd for _, cd in rows)


def test_returned_direct_debit_keeps_reason_and_charges(db_conn: psycopg.Connection) -> None:
    import_file(db_conn, VECTORS / "camt052" / "hbci4java_test-camt-ruecklastschrift.xml")
    row = db_conn.execute("SELECT amount_minor, credit_debit, return_reason, charges_minor "
                          "FROM bank_entries").fetchone()
    assert row == (5300, "DBIT", "MS03", 300)


def test_overlapping_statement_adds_only_new_entries(db_conn: psycopg.Connection) -> None:
    a = Line("260302", "100,00", purpose="RE2026-0000001", name="Anna")
    b = Line("260303", "50,00", purpose="RE2026-0000002", name="Ben")
    c = Line("260304", "70,00", purpose="RE2026-0000003", name="Cem")
    first = mt940("S1", ACCOUNT, "C1000,00", "C1150,00", "260303", [a, b],
                  opening_day="260301")
    # A re-export with a different statement id covering the same days and one more.
    second = mt940("S1-REPRINT", ACCOUNT, "C1000,00", "C1220,00", "260304", [a, b, c],
                   opening_day="260301")
    assert import_bytes(db_conn, first.encode(), file="s1.sta").entries_added == 2
    report = import_bytes(db_conn, second.encode(), file="s1-reprint.sta")
    assert [(s.entries_added, s.entries_known) for s in report.statements] == [(1, 2)]
    assert _count(db_conn, "bank_entries") == 3


def test_identical_payments_in_one_statement_are_both_kept(db_conn: psycopg.Connection) -> None:
    same = Line("260302", "100,00", purpose="Miete", name="Anna")
    text = mt940("S1", ACCOUNT, "C0,00", "C200,00", "260302", [same, same])
    assert import_bytes(db_conn, text.encode(), file="s.sta").entries_added == 2
    assert import_bytes(db_conn, text.encode(), file="s.sta").entries_added == 0


def test_balance_gap_refuses_the_whole_file_naming_the_statement(
        db_conn: psycopg.Connection) -> None:
    one = mt940("S1", ACCOUNT, "C1000,00", "C1100,00", "260302",
                [Line("260302", "100,00", purpose="x")])
    import_bytes(db_conn, one.encode(), file="s1.sta")
    ok = mt940("S2", ACCOUNT, "C1100,00", "C1150,00", "260303",
               [Line("260303", "50,00", purpose="y")])
    gap = mt940("S3", ACCOUNT, "C1199,00", "C1299,00", "260304",
                [Line("260304", "100,00", purpose="z")])
    with pytest.raises(ImportRefusedError) as caught:
        import_bytes(db_conn, (ok + gap).encode(), file="s2s3.sta")
    message = str(caught.value)
    assert "s2s3.sta" in message and "statement S3" in message and "S2" in message
    assert "1199.00" in message and "1150.00" in message
    # Atomic: S2, although fine, was not kept either.
    assert _count(db_conn, "bank_statements") == 1 and _count(db_conn, "bank_entries") == 1


def test_malformed_file_imports_nothing_and_names_the_spot(db_conn: psycopg.Connection) -> None:
    good = mt940("S1", ACCOUNT, "C0,00", "C100,00", "260302",
                 [Line("260302", "100,00", purpose="x")])
    bad = mt940("S2", ACCOUNT, "C100,00", "C200,00", "260303",
                [Line("260303", "1O0,00", purpose="letter O in the amount")])
    with pytest.raises(StatementError) as caught:
        import_bytes(db_conn, (good + bad).encode(), file="broken.sta")
    assert "broken.sta" in str(caught.value) and "line" in str(caught.value)
    xml = (VECTORS / "camt053" / "genkgo_camt053.v3.xml").read_bytes()
    with pytest.raises(StatementFormatError, match=r"cut\.xml"):
        import_bytes(db_conn, xml[: len(xml) // 2], file="cut.xml")
    assert _count(db_conn, "bank_statements") == 0 and _count(db_conn, "bank_entries") == 0
