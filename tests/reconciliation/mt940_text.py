"""Build small MT940 statements (German structured :86:) for import and matching tests."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Line:
    day: str  # YYMMDD
    amount: str  # "100,00"
    credit: bool = True
    purpose: str = ""
    name: str = ""
    iban: str = ""
    return_code: str = ""


def mt940(ref: str, account: str, opening: str, closing: str, day: str,
          lines: list[Line], opening_day: str | None = None) -> str:
    """One ``:20:`` block; balances as "C1000,00" style (C credit / D debit)."""
    out = [f":20:{ref}", f":25:{account}", ":28C:1/1",
           f":60F:{opening[0]}{opening_day or day}EUR{opening[1:]}"]
    for line in lines:
        mark = "C" if line.credit else "D"
        code = "NRTI" if line.return_code else "NTRF"
        out.append(f":61:{line.day}{line.day[2:]}{mark}{line.amount}{code}NONREF")
        sub = "?00RUECKLASTSCHRIFT" if line.return_code else "?00GUTSCHRIFT"
        purpose = f"SVWZ+{line.purpose}" if line.purpose else ""
        field86 = f":86:{'109' if line.return_code else '166'}{sub}?20{purpose[:27]}"
        if len(purpose) > 27:
            field86 += f"?21{purpose[27:54]}"
        if line.iban:
            field86 += f"?31{line.iban}"
        if line.name:
            field86 += f"?32{line.name}"
        if line.return_code:
            field86 += f"?34{line.return_code}"
        out.append(field86)
    out.append(f":62F:{closing[0]}{day}EUR{closing[1:]}")
    out.append("-")
    return "\r\n".join(out) + "\r\n"
