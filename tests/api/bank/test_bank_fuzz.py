"""Broken variants of the real samples: parsed, or refused with a StatementError.

An importer facing unseen bank files must never crash with an IndexError or a
raw lxml/csv exception: every failure has to be a ``StatementError`` that names
where it went wrong. The quick test truncates each sample at many offsets; the
``fuzz`` test mutates bytes with Hypothesis (count from ``METERBILL_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.bank import StatementError, parse_bytes

VECTORS = Path(
    os.environ.get(
        "METERBILL_BANK_VECTORS", Path(__file__).resolve().parents[4] / "shared/vectors/bank"
    )
)
SAMPLES = sorted(
    p
    for p in VECTORS.glob("*/*")
    if p.suffix in (".xml", ".sta", ".csv") or p.name.startswith("cmxl_")
    if not p.name.endswith((".json", ".yml"))
)


def _parse_or_refuse(data: bytes) -> None:
    try:
        result = parse_bytes(data, file="variant")
    except StatementError as exc:
        assert str(exc).startswith("variant"), f"error does not name the file: {exc}"
        return
    for statement in result.statements:
        for entry in statement.entries:
            assert entry.amount_minor is None or entry.amount_minor >= 0


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_truncated_samples_parse_or_raise_statement_errors(path: Path) -> None:
    data = path.read_bytes()
    step = max(1, len(data) // 25)
    for end in range(0, len(data), step):
        _parse_or_refuse(data[:end])


@pytest.mark.fuzz
@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_mutated_samples_parse_or_raise_statement_errors(path: Path) -> None:
    data = path.read_bytes()
    examples = int(os.environ.get("METERBILL_FUZZ_EXAMPLES", "15"))

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.lists(
            st.tuples(
                st.integers(0, len(data) - 1),
                st.sampled_from(
                    [
                        b"",
                        b"0",
                        b"9",
                        b"-",
                        b".",
                        b",",
                        b"C",
                        b"D",
                        b"?",
                        b":",
                        b"/",
                        b"<",
                        b'"',
                        b"\n",
                        b"`",
                        b"\xff",
                        b"\xc3",
                    ]
                ),
            ),
            min_size=1,
            max_size=4,
        )
    )
    def run(edits: list[tuple[int, bytes]]) -> None:
        mutated = bytearray(data)
        for offset, replacement in edits:
            offset = min(offset, len(mutated) - 1)
            mutated[offset : offset + 1] = replacement
        _parse_or_refuse(bytes(mutated))

    run()
