"""libmbus-compatible normalised XML (``mbus_parse_hex -n``) for decoded telegrams.

libmbus is the tool most M-Bus installations already script against, so
``meterbill mbus decode --format xml`` prints what it prints, element for
element: the ``SlaveInformation`` block, one ``DataRecord`` per record with
``Function``, ``StorageNumber``, ``Tariff``/``Device`` (only when the record
has a DIFE), ``Unit``, ``Quantity`` and ``Value``.  Numbers follow libmbus's
arithmetic exactly: the raw value as a C ``double`` times the table's
exponent, printed with ``%f``.  That is why this module recomputes the value
from the record's bytes instead of formatting our exact Decimal: the point
here is byte compatibility, while the native JSON form keeps exact values.

The XML declaration says ISO-8859-1 but, as libmbus does, the text is
written as UTF-8 (``°C``).
"""

from __future__ import annotations

import struct

from firmware_bridge.codecs.mbus_records import (
    ApplicationError,
    DataRecord,
    FixedDataResponse,
    SlaveHeader,
    Telegram,
    VariableDataResponse,
)
from firmware_bridge.codecs.mbus_tables import (
    FIXED_UNIT_TEXT,
    LIBMBUS_FIXED_UNIT_TEXT,
    LIBMBUS_VIF_OVERRIDES,
    VIF_TABLE,
)

XML_DECLARATION = '<?xml version="1.0" encoding="ISO-8859-1"?>\n'

_LIBMBUS_FUNCTIONS = (
    "Instantaneous value", "Maximum value", "Minimum value", "Value during error state",
)

# libmbus's product names (mbus_data_product_name): manufacturer -> version -> name.
_PRODUCTS: dict[str, dict[int, str]] = {
    "ABB": {0x02: "ABB Delta-Meter"},
    "ACW": {0x09: "Itron CF Echo 2", 0x0A: "Itron CF 51", 0x0B: "Itron CF 55",
            0x0E: "Itron BM +m", 0x0F: "Itron CF 800", 0x14: "Itron CYBLE M-Bus 1.4"},
    "AMT": {0x34: "Aquametro AMTRON", 0x80: "Aquametro CALEC MB",
            0xC0: "Aquametro CALEC ST"},
    "EFE": {0x01: "Engelmann SensoStar 2C"},
    "ELS": {0x0A: "Elster Falcon", 0x2F: "Elster F96 Plus"},
    "ELV": {**dict.fromkeys(range(0x14, 0x1E), "Elvaco CMa10"),
            **dict.fromkeys(range(0x32, 0x3C), "Elvaco CMa11")},
    "GMC": {0xE6: "GMC-I A230 EMMOD 206"},
    "SLB": {0x02: "Allmess Megacontrol CF-50", 0x06: "CF Compact / Integral MK MaXX"},
    "HYD": {0x28: "ABB F95 Typ US770"},
    "LUG": {0x02: "Landis & Gyr Ultraheat 2WR5", 0x03: "Landis & Gyr Ultraheat 2WR6",
            0x04: "Landis & Gyr Ultraheat UH50", 0x07: "Landis & Gyr Ultraheat T230"},
    "RAM": {0x03: "Rossweiner ETK/ETW Modularis"},
    "REL": {0x12: "Relay PadPuls M4", 0x40: "Relay PadPuls M2"},
    "RKE": {0x69: "Ista sensonic II mbus"},
    "SVM": {0x08: "Elster F2 / Deltamess F2", 0x09: "Elster F4 / Kamstrup SVM F22"},
    "SON": {0x0D: "Sontex Supercal 531"},
    "LSE": {0x99: "Siemens WFH21"},
    "SEN": {0x0B: "Sensus PolluTherm", 0x0E: "Sensus PolluStat E", 0x19: "Sensus PolluCom E"},
    "SPX": {0x31: "Sensus PolluTherm", 0x34: "Sensus PolluTherm"},
    "NZR": {0x01: "NZR DHZ 5/63", 0x50: "NZR IC-M2"},
    "KAM": {0x01: "Kamstrup 382 (6850-005)", 0x08: "Kamstrup Multical 601"},
    "EMH": {0x00: "EMH DIZ"},
    "TCH": {0x26: "Techem m-bus S"},
    "ZRM": {0x81: "Minol Minocal C2", 0x82: "Minol Minocal WR3"},
}


def product_name(header: SlaveHeader) -> str:
    """libmbus's name for a manufacturer/version pair, or ``""``."""
    mfr, version, medium = header.manufacturer, header.version, header.medium
    if mfr == "BEC":
        if medium == 0x02:
            return {0x00: "Berg DCMi", 0x07: "Berg BLMi"}.get(version, "")
        if medium == 0x0F:
            return "Berg BMB-10S0" if version == 0x71 else ""
        return ""
    if mfr == "EFE" and version == 0x00:
        return "Engelmann WaterStar" if medium == 0x06 else "Engelmann / Elster SensoStar 2"
    if mfr == "EMU":
        return "EMU Professional 3/75 M-Bus" if medium == 0x02 and version == 0x10 else ""
    if mfr == "GAV":
        if medium != 0x02:
            return ""
        if version in (0x2D, 0x2E, 0x2F, 0x30):
            return "Carlo Gavazzi EM24"
        return {0x39: "Carlo Gavazzi EM21", 0x3A: "Carlo Gavazzi EM21",
                0x40: "Carlo Gavazzi EM33"}.get(version, "")
    if mfr == "SBC":
        # libmbus keys Saia-Burgess on the top byte of the identification number.
        top = int(header.id_bcd[0:2], 16)
        return {0x10: "Saia-Burgess ALE3", 0x19: "Saia-Burgess ALE3",
                0x11: "Saia-Burgess AWD3"}.get(top, "")
    return _PRODUCTS.get(mfr, {}).get(version, "")


def xml_escape(text: str) -> str:
    """libmbus's ``mbus_str_xml_encode``: control characters become spaces."""
    out = []
    for ch in text:
        if ch == "\0":
            break
        if ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(" ")
        elif ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch == '"':
            out.append("&quot;")
        else:
            out.append(ch)
    return "".join(out)


def _hex(data: bytes) -> str:
    return " ".join(f"{b:02X}" for b in data)


def _libmbus_bcd(data: bytes) -> int:
    """libmbus's BCD: a high nibble above 9 is skipped, a low one added as is;
    an Fh most significant digit makes the value negative."""
    value = 0
    for b in reversed(data):
        value *= 10
        if (b >> 4) < 0x0A:
            value += b >> 4
        value = value * 10 + (b & 0x0F)
    if data and (data[-1] >> 4) == 0x0F:
        value = -value
    return value


def _tm_text(data: bytes, with_time: bool) -> str:
    """libmbus's ``mbus_data_tm_decode`` + its printf (tm_year + 1900)."""
    sec = minute = hour = mday = mon = year = 0
    n = len(data)
    if n == 6:
        if (data[1] & 0x80) == 0:
            sec = data[0] & 0x3F
            minute = data[1] & 0x3F
            hour = data[2] & 0x1F
            mday = data[3] & 0x1F
            mon = (data[4] & 0x0F) - 1
            year = 100 + (((data[3] & 0xE0) >> 5) | ((data[4] & 0xF0) >> 1))
    elif n == 4:
        if (data[0] & 0x80) == 0:
            minute = data[0] & 0x3F
            hour = data[1] & 0x1F
            mday = data[2] & 0x1F
            mon = (data[3] & 0x0F) - 1
            year = 100 + (((data[2] & 0xE0) >> 5) | ((data[3] & 0xF0) >> 1))
    elif n == 2:
        mday = data[0] & 0x1F
        mon = (data[1] & 0x0F) - 1
        year = 100 + (((data[0] & 0xE0) >> 5) | ((data[1] & 0xF0) >> 1))
    text = f"{year + 1900:04d}-{mon + 1:02d}-{mday:02d}"
    if with_time:
        text += f"T{hour:02d}:{minute:02d}:{sec:02d}Z"
    return text


def _libmbus_value(rec: DataRecord, msb_first: bool) -> float | str | None:
    """The raw value as libmbus's ``mbus_variable_value_decode`` sees it.

    libmbus only knows LSB-first telegrams; a mode 2 (CI 76h) record is
    turned round first so the XML shows the same value as its mode 1 twin.
    """
    coding = rec.dif & 0x0F
    data = rec.data[::-1] if msb_first else rec.data
    vif = rec.vif or 0
    vif7 = vif & 0x7F
    vife0 = (rec.vife[0] & 0x7F) if rec.vife else 0
    is_time = vif7 == 0x6D or (vif == 0xFD and vife0 in (0x30, 0x70))
    if coding == 0x00:
        return ""
    if coding in (0x01, 0x03):
        return float(int.from_bytes(data, "little", signed=True))
    if coding == 0x02:
        if vif7 == 0x6C:
            return _tm_text(data, False)
        return float(int.from_bytes(data, "little", signed=True))
    if coding in (0x04, 0x06):
        if is_time:
            return _tm_text(data, True)
        return float(int.from_bytes(data, "little", signed=True))
    if coding == 0x05:
        return struct.unpack("<f", data)[0]
    if coding == 0x07:
        return float(int.from_bytes(data, "little", signed=True))
    if coding in (0x09, 0x0A, 0x0B, 0x0C, 0x0E):
        return float(_libmbus_bcd(data))
    if coding == 0x0D:
        if rec.lvar is not None and rec.lvar <= 0xBF:
            return data[::-1].decode("latin-1")
        return _hex(data[::-1])
    if coding == 0x0F:
        return _hex(data)
    return None  # 0x08 selection for readout: libmbus cannot decode it


def _libmbus_unit(rec: DataRecord) -> tuple[str, str, float] | None:
    vif = rec.vif or 0
    if vif in (0xFD, 0xFB):
        code = (rec.vife[0] & 0x7F) | (0x100 if vif == 0xFD else 0x200)
    elif vif in (0x7C, 0xFC):
        return "-", rec.text_unit or "", 1.0
    else:
        code = vif & 0x7F
    entry = LIBMBUS_VIF_OVERRIDES.get(code) or VIF_TABLE.get(code)
    if entry is None:
        return None
    unit, quantity, scale = entry
    return unit, quantity, float(scale)


def _record_lines(rec: DataRecord, msb_first: bool = False) -> list[str]:
    if rec.vif is None:  # DIF 0Fh / 1Fh: manufacturer data to the end
        function = "More records follow" if rec.dif == 0x1F else "Manufacturer specific"
        return [
            f"        <Function>{function}</Function>",
            "        <StorageNumber>0</StorageNumber>",
            "        <Unit></Unit>",
            "        <Quantity></Quantity>",
            f"        <Value>{_hex(rec.data)}</Value>",
        ]
    raw = _libmbus_value(rec, msb_first)
    unit_entry = _libmbus_unit(rec)
    if raw is None or unit_entry is None:
        return []  # libmbus could not normalise this record: empty element
    unit, quantity, exponent = unit_entry
    lines = [
        f"        <Function>{_LIBMBUS_FUNCTIONS[(rec.dif >> 4) & 3]}</Function>",
        f"        <StorageNumber>{rec.storage_number}</StorageNumber>",
    ]
    if rec.dife:
        lines.append(f"        <Tariff>{rec.tariff}</Tariff>")
        lines.append(f"        <Device>{rec.subunit}</Device>")
    lines.append(f"        <Unit>{xml_escape(unit)}</Unit>")
    lines.append(f"        <Quantity>{xml_escape(quantity)}</Quantity>")
    if isinstance(raw, str):
        lines.append(f"        <Value>{xml_escape(raw)}</Value>")
        return lines
    vif = rec.vif or 0
    value = raw if vif in (0x7C, 0xFC) else raw * exponent
    if vif & 0x80 and vif not in (0xFD, 0xFB) and rec.vife:
        code = rec.vife[0] & 0x7F
        if 0x70 <= code <= 0x77:
            value *= 10.0 ** ((rec.vife[0] & 0x07) - 6)
        elif 0x78 <= code <= 0x7B:
            value += 10.0 ** ((rec.vife[0] & 0x03) - 3)
        elif code == 0x7D:
            value *= 1000.0
    lines.append(f"        <Value>{value:f}</Value>")
    return lines


def _libmbus_id(digits: str) -> str:
    """libmbus prints the ID's BCD bytes as hex (``%llX``): no leading zeros."""
    return digits.lstrip("0") or "0"


def _header_lines(h: SlaveHeader) -> list[str]:
    return [
        "    <SlaveInformation>",
        f"        <Id>{_libmbus_id(h.id_bcd)}</Id>",
        f"        <Manufacturer>{xml_escape(h.manufacturer)}</Manufacturer>",
        f"        <Version>{h.version}</Version>",
        f"        <ProductName>{xml_escape(product_name(h))}</ProductName>",
        f"        <Medium>{xml_escape(h.medium_name)}</Medium>",
        f"        <AccessNumber>{h.access_number}</AccessNumber>",
        f"        <Status>{h.status:02X}</Status>",
        f"        <Signature>{h.signature:04X}</Signature>",
        "    </SlaveInformation>",
        "",
    ]


def to_libmbus_xml(telegram: Telegram) -> str:
    """Render a decoded telegram as libmbus's normalised XML."""
    lines = [XML_DECLARATION + "<MBusData>", ""]
    if isinstance(telegram, ApplicationError):
        lines += ["    <SlaveInformation>",
                  f"        <Error>{xml_escape(telegram.text)}</Error>",
                  "    </SlaveInformation>", ""]
    elif isinstance(telegram, FixedDataResponse):
        lines += ["    <SlaveInformation>",
                  f"        <Id>{_libmbus_id(telegram.id_bcd)}</Id>",
                  f"        <Medium>{xml_escape(telegram.medium_name)}</Medium>",
                  f"        <AccessNumber>{telegram.access_number}</AccessNumber>",
                  f"        <Status>{telegram.status:02X}</Status>",
                  "    </SlaveInformation>", ""]
        for k, counter in enumerate(telegram.counters):
            text = LIBMBUS_FIXED_UNIT_TEXT.get(counter.unit_code) or FIXED_UNIT_TEXT[
                counter.unit_code]
            function = "Stored value" if counter.function == "stored" else "Actual value"
            lines += [f'    <DataRecord id="{k}">',
                      f"        <Function>{function}</Function>",
                      f"        <Unit>{xml_escape(text)}</Unit>",
                      f"        <Value>{counter.raw}</Value>",
                      "    </DataRecord>", ""]
    elif isinstance(telegram, VariableDataResponse):
        if telegram.header is not None:
            lines += _header_lines(telegram.header)
        for k, rec in enumerate(telegram.records):
            lines.append(f'    <DataRecord id="{k}">')
            lines += _record_lines(rec, telegram.msb_first)
            lines += ["    </DataRecord>", ""]
    lines.append("</MBusData>")
    return "\n".join(lines) + "\n"


__all__ = ["product_name", "to_libmbus_xml", "xml_escape"]
