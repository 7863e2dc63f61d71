"""WeChat Pay CSV exports: the merchant trade bill and the personal bill.

Merchant trade bill (微信支付商户对账单, API ``downloadbill``/``tradebill`` with
``bill_type=ALL``): a header row ``交易时间,公众账号ID,商户号,特约商户号|子商户号,设备号,
微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额|总金额,
代金券金额,微信退款单号,商户退款单号,退款金额,...,商品名称,商户数据包,手续费,费率,...``;
every value is prefixed with a backtick (`) so spreadsheets keep the long ids as
text; after the rows a summary header ``总交易单数,应结订单总金额|总交易额,退款总金额|总退款金额,
...,手续费总金额`` and one summary row. Columns are looked up by name (older bills
say 子商户号 and 总金额), so added columns do not break the parser. A SUCCESS row
is money received (CRDT: the settled amount, fee in ``charges_minor``), a REFUND
row money paid back (DBIT: the refund amount); the summary is checked against
the rows and a difference is reported as a warning, not refused.

Personal bill (微信支付账单明细): metadata lines, then ``交易时间,交易类型,交易对方,商品,收/支,
金额(元),支付方式,当前状态,交易单号,商户单号,备注``; amounts carry ``¥``; 收/支 is 收入
(credit), 支出 (debit) or ``/`` for neutral moves between the user's own wallets
and cards (kept with ``status="INFO"`` and ``credit_debit=None``: they are neither);
a withdrawal fee is written in 备注 as ``服务费¥0.10``.

Times are China local time (UTC+8); the booking date is that local date.
"""

from __future__ import annotations

import re

from api.bank.csv_mapping import CsvRow, decode_text, parse_decimal, read_table
from api.bank.errors import StatementFormatError
from api.bank.statement import (
    CREDIT,
    DEBIT,
    Entry,
    ParseResult,
    Statement,
    check_size,
    find_creditor_reference,
    to_minor,
)

MERCHANT_HEADER = ("交易时间", "微信订单号", "商户订单号", "交易状态")
PERSONAL_HEADER = ("交易时间", "交易类型", "交易对方", "收/支")
_SUMMARY_PREFIXES = ("总交易单数",)


def _none(value: str | None) -> str | None:
    return None if value in (None, "", "/") else value


def _amount(row: CsvRow, aliases: tuple[str, ...], file: str | None, currency: str) -> int | None:
    text = _none(row.get(aliases))
    if text is None:
        return None
    value = parse_decimal(text, file=file, line=row.line, column="/".join(aliases))
    return to_minor(abs(value), currency, file=file, line=row.line, element="/".join(aliases))


def _time(row: CsvRow, file: str | None) -> tuple[str, str]:
    text = row.get(("交易时间",)) or ""
    match = re.match(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T](\d{1,2}:\d{2}(?::\d{2})?))?", text)
    if match is None:
        raise StatementFormatError(
            f"交易时间 is not a date-time: {text!r}", file=file, line=row.line, element="交易时间"
        )
    year, month, day, clock = match.groups()
    date = f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    return date, f"{date} {clock}" if clock else date


def parse_wechat(
    data: bytes, *, file: str | None = None, max_bytes: int | None = None
) -> ParseResult:
    """Parse a WeChat Pay merchant trade bill or personal bill (detected by its header)."""
    check_size(data, file=file, max_bytes=max_bytes)
    text, _ = decode_text(data, ("utf-8-sig", "gb18030"), file=file)
    if all(name in text for name in MERCHANT_HEADER):
        return _merchant(text, file)
    return _personal(text, file)


def _merchant(text: str, file: str | None) -> ParseResult:
    _, rows, _, after = read_table(
        text,
        required=[(n,) for n in MERCHANT_HEADER],
        stop_prefixes=_SUMMARY_PREFIXES,
        file=file,
    )
    statement = Statement(message="wechat-merchant-tradebill", currency="CNY")
    received = refunded = 0
    merchants = set()
    for row in rows:
        currency = (_none(row.get(("货币种类",))) or "CNY").upper()
        date, moment = _time(row, file)
        status = row.get(("交易状态",)) or ""
        sub_merchant = _none(row.get(("特约商户号", "子商户号")))
        merchants.add(sub_merchant if sub_merchant not in (None, "0") else row.get(("商户号",)))
        entry = Entry(
            currency=currency,
            status="BOOK",
            booking_date=date,
            value_date=date,
            account_servicer_reference=_none(row.get(("微信订单号",))),
            end_to_end_id=_none(row.get(("商户订单号",))),
            counterparty_account=_none(row.get(("用户标识",))),
            remittance=_none(row.get(("商品名称",))),
            creditor_reference=find_creditor_reference(row.get(("商品名称",))),
            charges_minor=_amount(row, ("手续费",), file, currency),
            extra={
                "trade_time": moment,
                "trade_status": status,
                "trade_type": row.get(("交易类型",)),
                "bank": row.get(("付款银行",)),
                "attach": _none(row.get(("商户数据包",))),
                "fee_rate": row.get(("费率",)),
                "line": row.line,
            },
        )
        if status == "REFUND":
            entry.credit_debit = DEBIT
            entry.amount_minor = _amount(row, ("退款金额",), file, currency)
            entry.extra["refund_id"] = _none(row.get(("微信退款单号",)))
            entry.extra["merchant_refund_id"] = _none(row.get(("商户退款单号",)))
            entry.extra["refund_status"] = _none(row.get(("退款状态",)))
            refunded += entry.amount_minor or 0
        elif status == "SUCCESS":
            entry.credit_debit = CREDIT
            entry.amount_minor = _amount(
                row, ("应结订单金额", "总金额", "订单金额"), file, currency
            )
            received += entry.amount_minor or 0
        else:  # REVOKED, NOTPAY, CLOSED...: no money moved
            entry.credit_debit = None
            entry.status = "INFO"
            entry.amount_minor = _amount(
                row, ("应结订单金额", "总金额", "订单金额"), file, currency
            )
        if entry.amount_minor is None:
            raise StatementFormatError(
                "row without an amount", file=file, line=row.line, element="应结订单金额/退款金额"
            )
        statement.entries.append(entry)
    _summary(statement, after, rows=len(rows), received=received, refunded=refunded)
    dates = sorted(e.booking_date for e in statement.entries if e.booking_date)
    merchant = "/".join(sorted(m for m in merchants if m))
    if dates:
        statement.id = f"wechat:{merchant}:{dates[0]}..{dates[-1]}"
        statement.from_datetime, statement.to_datetime = dates[0], dates[-1]
    statement.account_other_id = merchant or None
    return ParseResult(format="wechat-merchant-tradebill", statements=[statement.finish()])


def _summary(
    statement: Statement, after: list[list[str]], *, rows: int, received: int, refunded: int
) -> None:
    for index, cells in enumerate(after[:-1]):
        if cells and cells[0].startswith("总交易单数"):
            summary = dict(zip(cells, after[index + 1], strict=False))
            statement.extra["summary"] = summary
            count = summary.get("总交易单数", "")
            if count.isdigit() and int(count) != rows:
                statement.warnings.append(f"summary says {count} trades, the bill has {rows} rows")
            for keys, actual in (
                (("应结订单总金额", "总交易额"), received),
                (("退款总金额", "总退款金额"), refunded),
            ):
                stated = next((summary[k] for k in keys if summary.get(k)), None)
                if stated is None:
                    continue
                try:
                    stated_minor = to_minor(stated, "CNY")
                except StatementFormatError:
                    statement.warnings.append(f"summary {keys[0]} is not an amount: {stated!r}")
                    continue
                if stated_minor != actual:
                    statement.warnings.append(
                        f"summary {keys[0]} {stated} differs from the rows' sum {actual / 100:.2f}"
                    )
            return


def _personal(text: str, file: str | None) -> ParseResult:
    _, rows, before, _ = read_table(text, required=[(n,) for n in PERSONAL_HEADER], file=file)
    statement = Statement(message="wechat-personal-bill", currency="CNY")
    for cells in before:
        line = ",".join(c for c in cells if c)
        span = re.search(r"起始时间：\[([^\]]+)\]\s*终止时间：\[([^\]]+)\]", line)
        if span:
            statement.from_datetime, statement.to_datetime = span.groups()
        if line.startswith("微信昵称"):
            statement.account_owner_name = re.sub(r"^微信昵称：\[?|\]$", "", line)
    for row in rows:
        date, moment = _time(row, file)
        direction_text = row.get(("收/支",)) or ""
        amount = _amount(row, ("金额(元)", "金额（元）", "金额"), file, "CNY")
        if amount is None:
            raise StatementFormatError(
                "row without an amount", file=file, line=row.line, element="金额(元)"
            )
        note = _none(row.get(("备注",)))
        entry = Entry(
            amount_minor=amount,
            currency="CNY",
            credit_debit={"收入": CREDIT, "支出": DEBIT}.get(direction_text),
            status="BOOK" if direction_text in ("收入", "支出") else "INFO",
            booking_date=date,
            value_date=date,
            counterparty_name=_none(row.get(("交易对方",))),
            remittance=_none(row.get(("商品",))),
            creditor_reference=find_creditor_reference(row.get(("商品",))),
            account_servicer_reference=_none(row.get(("交易单号",))),
            end_to_end_id=_none(row.get(("商户单号",))),
            additional_info=note,
            extra={
                "trade_time": moment,
                "trade_type": row.get(("交易类型",)),
                "in_out": direction_text,
                "payment_method": row.get(("支付方式",)),
                "status_text": row.get(("当前状态",)),
                "line": row.line,
            },
        )
        fee = re.search(r"服务费[¥￥]?\s*(\d+(?:\.\d+)?)", note or "")
        if fee:
            entry.charges_minor = to_minor(
                fee.group(1), "CNY", file=file, line=row.line, element="备注"
            )
        statement.entries.append(entry)
    if statement.from_datetime and statement.to_datetime:
        statement.id = f"wechat:{statement.from_datetime[:10]}..{statement.to_datetime[:10]}"
    return ParseResult(format="wechat-personal-bill", statements=[statement.finish()])
