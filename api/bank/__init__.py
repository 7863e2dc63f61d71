"""Bank statement import: camt.052/053/054, MT940, WeChat Pay, Alipay and mapped CSV.

Pure parsing: bytes in, normalized :class:`Statement` dataclasses out (amounts in
integer minor units), no database. ``parse_file``/``parse_bytes`` detect the
format from the content; ``meterbill bank parse FILE --json`` prints the result.
"""

from api.bank.csv_mapping import CsvMapping
from api.bank.detect import detect_format, parse_bytes, parse_file
from api.bank.errors import (
    StatementError,
    StatementFormatError,
    StatementTooLargeError,
    UnknownStatementFormatError,
    UnsafeStatementError,
)
from api.bank.statement import (
    MAX_STATEMENT_BYTES,
    Balance,
    Batch,
    CreditorReference,
    Entry,
    EntryDetail,
    ParseResult,
    Party,
    Statement,
    minor_unit_digits,
    to_minor,
)

__all__ = [
    "MAX_STATEMENT_BYTES",
    "Balance",
    "Batch",
    "CreditorReference",
    "CsvMapping",
    "Entry",
    "EntryDetail",
    "ParseResult",
    "Party",
    "Statement",
    "StatementError",
    "StatementFormatError",
    "StatementTooLargeError",
    "UnknownStatementFormatError",
    "UnsafeStatementError",
    "detect_format",
    "minor_unit_digits",
    "parse_bytes",
    "parse_file",
    "to_minor",
]
