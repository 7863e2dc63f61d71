"""Errors raised while reading bank statement files.

    api.errors.ApiError
    └── InvalidRequestError                (422)
        └── StatementError                 a bank file cannot be turned into statements
            ├── StatementFormatError       the file is malformed: names file, line and element
            ├── UnsafeStatementError       the file tries XML entities / DTDs (XXE, billion laughs)
            ├── StatementTooLargeError     the file is over the configured size limit
            └── UnknownStatementFormatError  detection found no supported format

Every message names *where* it went wrong (file, line, element or column), so an
operator can open the file at that spot; the import is refused as a whole, so
nothing of a malformed file reaches the ledger.
"""

from __future__ import annotations

from api.errors import InvalidRequestError


class StatementError(InvalidRequestError):
    """Base for every bank-file error; ``field`` carries the element or column at fault."""

    title = "Bank statement rejected"

    def __init__(
        self,
        detail: str,
        *,
        file: str | None = None,
        line: int | None = None,
        element: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.element = element
        where = []
        if file:
            where.append(file)
        if line is not None:
            where.append(f"line {line}")
        if element:
            where.append(element)
        message = f"{': '.join([', '.join(where), detail]) if where else detail}"
        super().__init__(message, field=element)


class StatementFormatError(StatementError):
    """The file is not well-formed for its format (bad XML, a bad amount, a missing field)."""

    title = "Malformed bank statement"


class UnsafeStatementError(StatementError):
    """The XML declares a DTD or entities; refused before any expansion can happen."""

    title = "Unsafe bank statement"


class StatementTooLargeError(StatementError):
    """The file is over the size limit; refused before parsing."""

    title = "Bank statement too large"


class UnknownStatementFormatError(StatementError):
    """The content matches none of the supported formats."""

    title = "Unknown bank statement format"
