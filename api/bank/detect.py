"""Format detection from the content of a bank file, never from its name.

Banks and users rename files freely (``auszug.txt`` may be MT940 or CSV, a camt
file often has no extension), so the first bytes decide:

- XML (optionally after a BOM or whitespace) -> ISO 20022 camt; the namespace
  ``urn:iso:std:iso:20022:tech:xsd:camt.05x.001.nn`` then fixes message and version.
- a line starting with an MT940 tag (``:20:``, ``:25:``, ``:61:``...) or a SWIFT
  envelope ``{1:`` -> MT940.
- a CSV whose header names the WeChat Pay merchant columns (微信订单号, 商户订单号,
  交易状态) -> WeChat merchant trade bill; the personal WeChat columns -> WeChat
  personal bill; the Alipay columns -> Alipay statement.
- anything else needs an explicit :class:`~api.bank.csv_mapping.CsvMapping`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from api.bank.camt_parser import parse_camt
from api.bank.csv_alipay import MERCHANT_HEADER as ALIPAY_MERCHANT_HEADER
from api.bank.csv_alipay import parse_alipay
from api.bank.csv_mapping import CsvMapping, parse_with_mapping
from api.bank.csv_wechat import MERCHANT_HEADER, PERSONAL_HEADER, parse_wechat
from api.bank.errors import StatementTooLargeError, UnknownStatementFormatError
from api.bank.mt940_parser import parse_mt940
from api.bank.statement import MAX_STATEMENT_BYTES, ParseResult

_MT940_RE = re.compile(r"^(?:\{1:|:(?:20|25|28C?|60[FM]|61|86):)", re.MULTILINE)
_HEAD_BYTES = 64 * 1024


def _head_text(data: bytes) -> str:
    head = data[:_HEAD_BYTES]
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return head.decode(encoding)
        except UnicodeDecodeError:
            continue
    return head.decode("iso-8859-1")


def detect_format(data: bytes) -> str | None:
    """``camt``, ``mt940``, ``wechat``, ``alipay`` or ``None`` when unknown."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "camt" if "<" in data[:200].decode("utf-16", errors="ignore") else None
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        return "camt"
    text = _head_text(data)
    if _MT940_RE.search(text):
        return "mt940"
    if all(name in text for name in MERCHANT_HEADER):
        return "wechat"
    if all(name in text for name in ALIPAY_MERCHANT_HEADER):
        return "alipay"
    if "收/支" in text:
        if "微信" in text or (
            all(name in text for name in PERSONAL_HEADER) and "商品说明" not in text
        ):
            return "wechat"
        if "支付宝" in text or "交易订单号" in text or "交易号" in text:
            return "alipay"
    return None


def parse_bytes(
    data: bytes,
    *,
    file: str | None = None,
    mapping: CsvMapping | None = None,
    max_bytes: int | None = None,
) -> ParseResult:
    """Detect the format of ``data`` and parse it into normalized statements."""
    if mapping is not None:
        return parse_with_mapping(data, mapping, file=file, max_bytes=max_bytes)
    kind = detect_format(data)
    if kind == "camt":
        return parse_camt(data, file=file, max_bytes=max_bytes)
    if kind == "mt940":
        return parse_mt940(data, file=file, max_bytes=max_bytes)
    if kind == "wechat":
        return parse_wechat(data, file=file, max_bytes=max_bytes)
    if kind == "alipay":
        return parse_alipay(data, file=file, max_bytes=max_bytes)
    raise UnknownStatementFormatError(
        "not camt.052/053/054 XML, MT940, a WeChat Pay bill or an Alipay statement; "
        "give a CSV mapping (--mapping) for other bank exports",
        file=file,
        line=1,
    )


def parse_file(
    path: str | os.PathLike[str],
    *,
    mapping: CsvMapping | None = None,
    max_bytes: int | None = None,
) -> ParseResult:
    """Read and parse a bank file, refusing one over ``max_bytes`` before reading it."""
    file = Path(path)
    limit = MAX_STATEMENT_BYTES if max_bytes is None else max_bytes
    size = file.stat().st_size
    if size > limit:
        raise StatementTooLargeError(
            f"file is {size} bytes, over the limit of {limit} bytes", file=file.name
        )
    return parse_bytes(file.read_bytes(), file=file.name, mapping=mapping, max_bytes=limit)
