"""CSV exports: WeChat Pay merchant trade bill, Alipay layouts, configurable bank mapping.

No redistributable WeChat merchant bill exists (see vectors/bank/README.md), so the
bills below are written here after the documented layout of the ``downloadbill``
API (bill_type=ALL): backtick-prefixed values, then the summary header and row.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from api.bank import (
    CsvMapping,
    StatementFormatError,
    detect_format,
    minor_unit_digits,
    parse_bytes,
    to_minor,
)
from api.bank.statement import find_creditor_reference, is_iban

VECTORS = Path(
    os.environ.get(
        "METERBILL_BANK_VECTORS", Path(__file__).resolve().parents[4] / "shared/vectors/bank"
    )
)

HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,"
    "充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)


def _row(
    time: str,
    wx_id: str,
    order: str,
    status: str,
    amount: str,
    refund: str,
    fee: str,
    goods: str,
    refund_ids: tuple[str, str] = ("0", "0"),
) -> str:
    cells = [
        time,
        "wx2421b1c4370ec43b",
        "10000100",
        "0",
        "1000",
        wx_id,
        order,
        "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        "NATIVE",
        status,
        "CMB_DEBIT",
        "CNY",
        amount,
        "0.00",
        refund_ids[0],
        refund_ids[1],
        refund,
        "0.00",
        "ORIGINAL",
        "SUCCESS" if status == "REFUND" else "",
        goods,
        "",
        fee,
        "0.60%",
        amount,
        refund,
        "",
    ]
    return ",".join("`" + c for c in cells)


def merchant_bill(summary_total: str = "1500.00") -> bytes:
    rows = [
        HEADER,
        _row(
            "2024-03-01 09:15:02",
            "4200001234202403011111111111",
            "INV-2024-0001",
            "SUCCESS",
            "1000.00",
            "0.00",
            "6.00",
            "Miete März Whg 3",
        ),
        _row(
            "2024-03-01 10:20:00",
            "4200001234202403012222222222",
            "INV-2024-0002",
            "SUCCESS",
            "500.00",
            "0.00",
            "3.00",
            "Nebenkosten",
        ),
        _row(
            "2024-03-02 11:00:00",
            "4200001234202403011111111111",
            "INV-2024-0001",
            "REFUND",
            "0.00",
            "200.00",
            "-1.20",
            "Miete März Whg 3",
            ("50300000012024030200000000001", "RF-INV-2024-0001-1"),
        ),
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额",
        f"`3,`{summary_total},`200.00,`0.00,`7.80,`1500.00,`200.00",
    ]
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")


def test_wechat_merchant_trade_bill() -> None:
    result = parse_bytes(merchant_bill(), file="1000100_20240302.csv")
    assert result.format == "wechat-merchant-tradebill"
    (statement,) = result.statements
    assert statement.warnings == []
    assert statement.currency == "CNY"
    assert statement.account_other_id == "10000100"
    first, second, refund = statement.entries
    assert (first.amount_minor, first.credit_debit, first.charges_minor) == (100000, "CRDT", 600)
    assert first.end_to_end_id == "INV-2024-0001"  # out_trade_no, without the backtick
    assert first.account_servicer_reference == "4200001234202403011111111111"
    assert first.counterparty_account == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    assert first.remittance == "Miete März Whg 3"
    assert first.booking_date == "2024-03-01"
    assert first.extra["trade_time"] == "2024-03-01 09:15:02"
    assert (second.amount_minor, second.charges_minor) == (50000, 300)
    assert (refund.amount_minor, refund.credit_debit) == (20000, "DBIT")
    assert refund.charges_minor == 120
    assert refund.extra["refund_id"] == "50300000012024030200000000001"
    assert refund.end_to_end_id == "INV-2024-0001"
    assert statement.extra["summary"]["总交易单数"] == "3"


def test_wechat_summary_mismatch_is_reported_not_refused() -> None:
    (statement,) = parse_bytes(merchant_bill(summary_total="1499.99")).statements
    assert len(statement.entries) == 3
    assert statement.warnings == [
        "summary 应结订单总金额 1499.99 differs from the rows' sum 1500.00"
    ]


def test_wechat_bill_with_a_broken_amount_names_the_line() -> None:
    data = merchant_bill().replace(b"`500.00", b"`5OO.00", 1)
    with pytest.raises(StatementFormatError) as info:
        parse_bytes(data, file="bill.csv")
    assert "bill.csv, line 3" in str(info.value)


def _padded(cells: list[str]) -> str:
    """Alipay pads every cell with spaces and ends id cells with a tab."""
    return "".join(f"{cell:<12}," for cell in cells)


def test_alipay_old_layout_with_fees() -> None:
    header = [
        "交易号",
        "商家订单号",
        "交易创建时间",
        "付款时间",
        "最近修改时间",
        "交易来源地",
        "类型",
        "交易对方",
        "商品名称",
        "金额（元）",
        "收/支",
        "交易状态",
        "服务费（元）",
        "成功退款（元）",
        "备注",
        "资金状态",
    ]
    row = [
        "2024030122001400000000000001\t",
        "INV-2024-0003\t",
        "2024-03-01 08:00:00",
        "2024-03-01 08:00:05",
        "2024-03-01 08:00:05",
        "其他（包括阿里巴巴和外部商家）",
        "即时到账交易",
        "张三",
        "3月物业费 RF18 5390 0754 7034",
        "1280.50",
        "收入",
        "交易成功",
        "7.68",
        "0",
        "",
        "已收入",
    ]
    text = (
        "\n".join(
            [
                "支付宝交易记录明细查询",
                "账号:[20880000000000000156]",
                "-------------------------交易记录明细列表-------------------------",
                _padded(header),
                _padded(row),
                "------------------------------------------------------------------",
                "共1笔记录",
            ]
        )
        + "\n"
    )
    result = parse_bytes(text.encode("gb18030"), file="alipay_record.csv")
    assert result.format == "alipay-statement"
    (entry,) = result.statements[0].entries
    assert (entry.amount_minor, entry.credit_debit, entry.charges_minor) == (128050, "CRDT", 768)
    assert entry.end_to_end_id == "INV-2024-0003"
    assert entry.account_servicer_reference == "2024030122001400000000000001"
    assert entry.counterparty_name == "张三"
    assert entry.creditor_reference == "RF18539007547034"
    assert entry.booking_date == "2024-03-01"


def test_alipay_sample_is_gbk_and_header_counts_are_not_a_checksum() -> None:
    data = (VECTORS / "alipay/deg_example-alipay-records.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    (statement,) = parse_bytes(data).statements
    assert statement.extra["records_claimed"] == 66
    assert len(statement.entries) == 10
    assert statement.warnings == []
    closed = [e for e in statement.entries if e.extra["status_text"] == "交易关闭"]
    assert closed and all(e.status == "INFO" for e in closed)


MAPPING_TOML = """
name = "sparkasse-csv"
encoding = "iso-8859-1"
delimiter = ";"
decimal_mark = ","
thousands_separator = "."
date_formats = ["%d.%m.%y", "%d.%m.%Y"]
currency = "EUR"
account_iban = "DE89370400440532013000"
[columns]
booking_date = ["Buchungstag"]
value_date = ["Valutadatum"]
amount = ["Betrag"]
counterparty_name = ["Beguenstigter/Zahlungspflichtiger"]
counterparty_account = ["Kontonummer/IBAN", "IBAN"]
remittance = ["Verwendungszweck"]
end_to_end_id = ["Kundenreferenz (End-to-End)"]
"""

BANK_CSV = (
    "Auftragskonto;Buchungstag;Valutadatum;Buchungstext;Verwendungszweck;"
    "Kundenreferenz (End-to-End);Beguenstigter/Zahlungspflichtiger;Kontonummer/IBAN;"
    "Betrag;Waehrung\n"
    "DE89370400440532013000;01.03.24;01.03.24;GUTSCHRIFT;Miete März RF18 5390 0754 7034;"
    "INV-7;Jörg Müller;DE02120300000000202051;1.234,56;EUR\n"
    "DE89370400440532013000;02.03.24;02.03.24;LASTSCHRIFT;Strom;NOTPROVIDED;Stadtwerke;"
    "DE02500105170137075030;-89,10;EUR\n"
)


def test_configurable_mapping(tmp_path: Path) -> None:
    mapping_path = tmp_path / "sparkasse.toml"
    mapping_path.write_text(MAPPING_TOML, encoding="utf-8")
    mapping = CsvMapping.from_toml(mapping_path)
    result = parse_bytes(BANK_CSV.encode("iso-8859-1"), mapping=mapping, file="umsatz.csv")
    assert result.format == "csv:sparkasse-csv"
    (statement,) = result.statements
    assert statement.account_iban == "DE89370400440532013000"
    credit, debit = statement.entries
    assert (credit.amount_minor, credit.credit_debit, credit.booking_date) == (
        123456,
        "CRDT",
        "2024-03-01",
    )
    assert credit.counterparty_name == "Jörg Müller"
    assert credit.creditor_reference == "RF18539007547034"
    assert credit.end_to_end_id == "INV-7"
    assert (debit.amount_minor, debit.credit_debit) == (8910, "DBIT")


def test_mapping_refuses_unknown_keys_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text(MAPPING_TOML.replace("delimiter", "delimeter"), encoding="utf-8")
    with pytest.raises(StatementFormatError) as info:
        CsvMapping.from_toml(path)
    assert "delimeter" in str(info.value)
    path.write_text(MAPPING_TOML, encoding="utf-8")
    bad = BANK_CSV.replace("-89,10", "-89,1O").encode("iso-8859-1")
    with pytest.raises(StatementFormatError) as info:
        parse_bytes(bad, mapping=CsvMapping.from_toml(path), file="umsatz.csv")
    assert "umsatz.csv, line 3, Betrag: not an amount: '-89,1O'" in str(info.value)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("camt053/oca_test-camt053.xml", "camt"),
        ("camt052/hbci4java_test-camt-ruecklastschrift.xml", "camt"),
        ("mt940/jejik_ing.sta", "mt940"),
        ("mt940/cmxl_statement-details-mt940.txt", "mt940"),
        ("mt940/sparkasse_buxtehude.sta", "mt940"),
        ("wechat/deg_example-wechat-records.csv", "wechat"),
        ("alipay/deg_example-alipay-records.csv", "alipay"),
    ],
)
def test_detection_uses_content_not_name(path: str, kind: str) -> None:
    assert detect_format((VECTORS / path).read_bytes()) == kind


def test_detection_of_the_merchant_bill() -> None:
    assert detect_format(merchant_bill()) == "wechat"


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("18.150", "EUR", 1815),
        ("2700", "JPY", 2700),
        ("1.005", "KWD", 1005),
        ("15000,", "EUR", 1500000),
        ("0,08", "EUR", 8),
        ("1", "BHD", 1000),
    ],
)
def test_minor_units_follow_iso_4217(text: str, currency: str, minor: int) -> None:
    assert to_minor(text, currency) == minor


def test_amount_finer_than_the_minor_unit_is_refused() -> None:
    assert minor_unit_digits("JPY") == 0
    with pytest.raises(StatementFormatError):
        to_minor("1.5", "JPY")
    with pytest.raises(StatementFormatError):
        to_minor("18.155", "EUR")


def test_iban_and_creditor_reference_checks() -> None:
    assert is_iban("DE89 3704 0044 0532 0130 00")
    assert not is_iban("DE1234567890")  # an invalid IBAN from a shared sample
    assert find_creditor_reference("Miete RF18 5390 0754 7034 März") == "RF18539007547034"
    assert find_creditor_reference("Miete RF19 5390 0754 7034") is None


def test_alipay_merchant_trade_bill() -> None:
    header = (
        "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,"
        "对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,"
        "商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,"
        "退款批次号/请求号,服务费（元）,分润（元）,备注"
    )
    paid = [
        "2024030122001400001111111111\t",
        "INV-2024-0010\t",
        "交易",
        "3月租金 RF18 5390 0754 7034",
        "2024-03-01 09:00:00",
        "2024-03-01 09:00:03",
        "",
        "",
        "",
        "",
        "li***@163.com",
        "2500.00",
        "2500.00",
        "0.00",
        "0.00",
        "0.00",
        "0.00",
        "0.00",
        "",
        "0.00",
        "0.00",
        "",
        "-15.00",
        "0.00",
        "",
    ]
    refunded = list(paid)
    refunded[2], refunded[5], refunded[11], refunded[12] = (
        "退款",
        "2024-03-03 10:00:00",
        "-100.00",
        "-100.00",
    )
    refunded[21], refunded[22] = "2024030300001", "0.60"
    text = "\n".join(
        [
            "#支付宝业务明细查询",
            "#账号：[20880000000000000156]",
            "#起始日期：[2024年03月01日 00:00:00]   终止日期：[2024年04月01日 00:00:00]",
            "#-----------------------------------------业务明细列表----------------------------------------",
            header,
            ",".join(paid),
            ",".join(refunded),
            "#-----------------------------------------业务明细列表结束------------------------------------",
            "#交易合计：1笔，商家实收共2500.00元，商家优惠共0.00元",
        ]
    )
    data = text.encode("gb18030")
    assert detect_format(data) == "alipay"
    result = parse_bytes(data, file="20880000000000000156_20240301_业务明细.csv")
    assert result.format == "alipay-merchant-bill"
    (statement,) = result.statements
    assert statement.account_other_id == "20880000000000000156"
    payment, refund = statement.entries
    assert (payment.amount_minor, payment.credit_debit, payment.charges_minor) == (
        250000,
        "CRDT",
        1500,
    )
    assert payment.end_to_end_id == "INV-2024-0010"
    assert payment.account_servicer_reference == "2024030122001400001111111111"
    assert payment.creditor_reference == "RF18539007547034"
    assert payment.booking_date == "2024-03-01"
    assert (refund.amount_minor, refund.credit_debit, refund.booking_date) == (
        10000,
        "DBIT",
        "2024-03-03",
    )
    assert refund.extra["refund_request_id"] == "2024030300001"
