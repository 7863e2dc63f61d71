"""Alipay account statement CSV (支付宝交易明细), GBK-encoded.

Two layouts are in use; columns are looked up by name so both parse:

- 2023+ personal export: metadata block (导出信息, 起始时间/终止时间, 共N笔记录 ...,
  特别提示), then ``交易时间,交易分类,交易对方,对方账号,商品说明,收/支,金额,收/付款方式,
  交易状态,交易订单号,商家订单号,备注``.
- older export: ``交易号,商家订单号,交易创建时间,付款时间,最近修改时间,交易来源地,类型,
  交易对方,商品名称,金额（元）,收/支,交易状态,服务费（元）,成功退款（元）,备注,资金状态``
  with a footer of dashes and totals.

- merchant trade bill (业务明细, from the merchant portal or the bill download API):
  ``#``-prefixed metadata, then ``支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,
  门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,...,服务费（元）,
  分润（元）,备注`` and a ``#`` footer with totals. 业务类型 交易 is money received
  (CRDT, 商家实收 = what was credited), 退款 money paid back (DBIT); the fee is in
  服务费. No public sample of this layout exists (vectors README), so it is parsed
  by column name from the documented header and tested with a constructed bill.

The file is GBK (decoded as GB18030, its superset; UTF-8 is accepted too).
Cells are padded with spaces and order numbers end with a tab; both are stripped.
收/支 is 收入 (credit), 支出 (debit) or 不计收支 / empty (neither: transfers between
the user's own funds, refunds shown for information) which are kept with
``status="INFO"`` and ``credit_debit=None``. Closed trades (交易关闭) moved no money
and are also ``INFO``. The record counts in the metadata block are not a checksum
(exports are often trimmed) and are kept in ``extra`` only.
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

_TIME = ("交易时间", "交易创建时间", "付款时间")
_AMOUNT = ("金额", "金额（元）", "金额(元)")
HEADER_GROUPS = (_TIME, ("收/支",), _AMOUNT, ("交易对方",))


MERCHANT_HEADER = ("支付宝交易号", "商户订单号", "业务类型")


def _none(value: str | None) -> str | None:
    return None if value in (None, "", "/") else value


def _moment(row: CsvRow, names: tuple[str, ...], file: str | None) -> tuple[str, str]:
    moment = _none(row.get(names))
    match = re.match(
        r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:\s+(\d{1,2}:\d{2}(?::\d{2})?))?", moment or ""
    )
    if match is None:
        raise StatementFormatError(
            f"{names[0]} is not a date-time: {moment!r}", file=file, line=row.line, element=names[0]
        )
    year, month, day, clock = match.groups()
    date = f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    return date, f"{date} {clock}" if clock else date


def _merchant(text: str, encoding: str, file: str | None) -> ParseResult:
    _, rows, before, after = read_table(
        text, required=[(n,) for n in MERCHANT_HEADER], stop_prefixes=("#",), file=file
    )
    statement = Statement(
        message="alipay-merchant-bill", currency="CNY", extra={"encoding": encoding}
    )
    for cells in before:
        line = " ".join(c for c in cells if c).lstrip("#")
        account = re.match(r"^账号[：:]\[?([^\]]+)\]?", line)
        if account:
            statement.account_other_id = account.group(1).strip()
        span = re.search(r"起始日期[：:]\[([^\]]+)\]\s*终止日期[：:]\[([^\]]+)\]", line)
        if span:
            statement.from_datetime, statement.to_datetime = span.groups()
    for row in rows:
        date, moment = _moment(row, ("完成时间", "创建时间"), file)
        kind = row.get(("业务类型",)) or ""
        amount_text = _none(
            row.get(("商家实收（元）", "商家实收(元)", "订单金额（元）", "订单金额(元)"))
        )
        if amount_text is None:
            raise StatementFormatError(
                "row without an amount", file=file, line=row.line, element="商家实收（元）"
            )
        amount = parse_decimal(amount_text, file=file, line=row.line, column="商家实收（元）")
        refund = kind == "退款" or amount < 0
        entry = Entry(
            amount_minor=to_minor(abs(amount), "CNY", file=file, line=row.line, element="商家实收"),
            currency="CNY",
            credit_debit=DEBIT if refund else CREDIT,
            status="BOOK",
            booking_date=date,
            value_date=date,
            account_servicer_reference=_none(row.get(("支付宝交易号",))),
            end_to_end_id=_none(row.get(("商户订单号",))),
            counterparty_account=_none(row.get(("对方账户",))),
            remittance=_none(row.get(("商品名称",))),
            creditor_reference=find_creditor_reference(row.get(("商品名称",))),
            additional_info=_none(row.get(("备注",))),
            extra={"trade_time": moment, "business_type": kind, "line": row.line},
        )
        fee = _none(row.get(("服务费（元）", "服务费(元)")))
        if fee:
            fee_value = parse_decimal(fee, file=file, line=row.line, column="服务费（元）")
            entry.charges_minor = to_minor(abs(fee_value), "CNY")
        refund_id = _none(row.get(("退款批次号/请求号",)))
        if refund_id:
            entry.extra["refund_request_id"] = refund_id
        statement.entries.append(entry)
    statement.extra["footer"] = [" ".join(c for c in cells if c) for cells in after]
    dates = sorted(e.booking_date for e in statement.entries if e.booking_date)
    if dates:
        statement.id = f"alipay:{statement.account_other_id or ''}:{dates[0]}..{dates[-1]}"
    return ParseResult(format="alipay-merchant-bill", statements=[statement.finish()])


def parse_alipay(
    data: bytes, *, file: str | None = None, max_bytes: int | None = None
) -> ParseResult:
    """Parse an Alipay account statement export into one CNY statement."""
    check_size(data, file=file, max_bytes=max_bytes)
    text, encoding = decode_text(data, ("utf-8-sig", "gb18030"), file=file)
    if all(name in text for name in MERCHANT_HEADER):
        return _merchant(text, encoding, file)
    _, rows, before, after = read_table(
        text, required=HEADER_GROUPS, stop_prefixes=("---",), file=file
    )
    statement = Statement(message="alipay-statement", currency="CNY", extra={"encoding": encoding})
    for cells in before:
        line = " ".join(c for c in cells if c)
        span = re.search(r"起始时间：\[([^\]]+)\]\s*终止时间：\[([^\]]+)\]", line)
        if span:
            statement.from_datetime, statement.to_datetime = span.groups()
        account = re.match(r"^支付宝账户：(.+)$", line)
        if account:
            statement.account_other_id = account.group(1).strip()
        owner = re.match(r"^姓名：(.+)$", line)
        if owner:
            statement.account_owner_name = owner.group(1).strip()
        claimed = re.match(r"^共(\d+)笔记录", line)
        if claimed:
            statement.extra["records_claimed"] = int(claimed.group(1))
    for row in rows:
        statement.entries.append(_entry(row, file))
    if after:
        statement.extra["footer"] = [" ".join(c for c in cells if c) for cells in after]
    if statement.from_datetime and statement.to_datetime:
        account = statement.account_other_id or ""
        span = f"{statement.from_datetime[:10]}..{statement.to_datetime[:10]}"
        statement.id = f"alipay:{account}:{span}"
    return ParseResult(format="alipay-statement", statements=[statement.finish()])


def _entry(row: CsvRow, file: str | None) -> Entry:
    moment = _none(row.get(_TIME)) or _none(row.get(("付款时间",)))
    match = re.match(
        r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:\s+(\d{1,2}:\d{2}(?::\d{2})?))?", moment or ""
    )
    if match is None:
        raise StatementFormatError(
            f"交易时间 is not a date-time: {moment!r}", file=file, line=row.line, element="交易时间"
        )
    year, month, day, clock = match.groups()
    date = f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    amount_text = _none(row.get(_AMOUNT))
    if amount_text is None:
        raise StatementFormatError(
            "row without an amount", file=file, line=row.line, element="金额"
        )
    amount = parse_decimal(amount_text, file=file, line=row.line, column="金额")
    in_out = row.get(("收/支",)) or ""
    status_text = row.get(("交易状态",)) or ""
    direction = {"收入": CREDIT, "支出": DEBIT}.get(in_out)
    booked = direction is not None and status_text != "交易关闭"
    entry = Entry(
        amount_minor=to_minor(abs(amount), "CNY", file=file, line=row.line, element="金额"),
        currency="CNY",
        credit_debit=direction,
        status="BOOK" if booked else "INFO",
        booking_date=date,
        value_date=date,
        counterparty_name=_none(row.get(("交易对方",))),
        counterparty_account=_none(row.get(("对方账号",))),
        remittance=_none(row.get(("商品说明", "商品名称"))),
        creditor_reference=find_creditor_reference(row.get(("商品说明", "商品名称"))),
        account_servicer_reference=_none(row.get(("交易订单号", "交易号"))),
        end_to_end_id=_none(row.get(("商家订单号",))),
        additional_info=_none(row.get(("备注",))),
        extra={
            "trade_time": f"{date} {clock}" if clock else date,
            "category": _none(row.get(("交易分类", "类型"))),
            "in_out": in_out,
            "payment_method": _none(row.get(("收/付款方式",))),
            "status_text": status_text,
            "line": row.line,
        },
    )
    fee = _none(row.get(("服务费（元）", "服务费(元)")))
    if fee:
        entry.charges_minor = to_minor(
            abs(parse_decimal(fee, file=file, line=row.line, column="服务费")), "CNY"
        )
    refunded = _none(row.get(("成功退款（元）", "成功退款(元)")))
    if refunded:
        entry.extra["refunded_minor"] = to_minor(
            abs(parse_decimal(refunded, file=file, line=row.line, column="成功退款")), "CNY"
        )
    return entry
