"""Lookup tables of EN 13757-3 (wired M-Bus application layer).

Each value-information entry is ``(unit, quantity, scale)``: the decoded
integer times ``scale`` (an exact :class:`~decimal.Decimal`) is the value in
``unit``.  Units and quantity names follow libmbus's normalised output
(``mbus-protocol-aux.c``), which is the reference format for our XML; where
libmbus's table deviates from the standard, :data:`LIBMBUS_VIF_OVERRIDES`
holds libmbus's variant so the native decode stays correct and the XML stays
compatible.

Table keys:

* ``0x00..0x7F``   primary VIF (EN 13757-3 table 10), extension bit cleared;
* ``0x100..0x17F`` first extension table, VIF = FDh (table 12);
* ``0x200..0x27F`` second extension table, VIF = FBh (table 14).
"""

from __future__ import annotations

from decimal import Decimal

VifEntry = tuple[str, str, Decimal]

# Non-negative powers as plain integers so 37351 kWh prints as 37351000 Wh,
# not 3.7351E+7; negative ones as 0.001 etc.
_E = [Decimal(10**n) if n >= 0 else Decimal(1).scaleb(n) for n in range(-12, 12)]


def _p10(n: int) -> Decimal:
    return _E[n + 12]


_SECONDS = (Decimal(1), Decimal(60), Decimal(3600), Decimal(86400))
_MONTH_S = Decimal("2629743.83")  # libmbus: mean Gregorian month
_YEAR_S = Decimal(31556926)


def _build_vif_table() -> dict[int, VifEntry]:
    t: dict[int, VifEntry] = {}
    for n in range(8):
        t[0x00 + n] = ("Wh", "Energy", _p10(n - 3))
        t[0x08 + n] = ("J", "Energy", _p10(n))
        t[0x10 + n] = ("m^3", "Volume", _p10(n - 6))
        t[0x18 + n] = ("kg", "Mass", _p10(n - 3))
        t[0x28 + n] = ("W", "Power", _p10(n - 3))
        t[0x30 + n] = ("J/h", "Power", _p10(n))
        t[0x38 + n] = ("m^3/h", "Volume flow", _p10(n - 6))
        t[0x40 + n] = ("m^3/min", "Volume flow", _p10(n - 7))
        t[0x48 + n] = ("m^3/s", "Volume flow", _p10(n - 9))
        t[0x50 + n] = ("kg/h", "Mass flow", _p10(n - 3))
    for n in range(4):
        t[0x20 + n] = ("s", "On time", _SECONDS[n])
        t[0x24 + n] = ("s", "Operating time", _SECONDS[n])
        t[0x58 + n] = ("°C", "Flow temperature", _p10(n - 3))
        t[0x5C + n] = ("°C", "Return temperature", _p10(n - 3))
        t[0x60 + n] = ("K", "Temperature difference", _p10(n - 3))
        t[0x64 + n] = ("°C", "External temperature", _p10(n - 3))
        t[0x68 + n] = ("bar", "Pressure", _p10(n - 3))
        t[0x70 + n] = ("s", "Averaging Duration", _SECONDS[n])
        t[0x74 + n] = ("s", "Actuality Duration", _SECONDS[n])
    one = Decimal(1)
    t[0x6C] = ("-", "Time point (date)", one)
    t[0x6D] = ("-", "Time point (date & time)", one)
    t[0x6E] = ("Units for H.C.A.", "H.C.A.", one)
    t[0x6F] = ("Reserved", "Reserved", Decimal(0))
    t[0x78] = ("", "Fabrication No", one)
    t[0x79] = ("", "(Enhanced) Identification", one)
    t[0x7A] = ("", "Bus Address", one)
    t[0x7E] = ("", "Any VIF", one)
    t[0x7F] = ("", "Manufacturer specific", one)

    # FDh: EN 13757-3 table 12 (main VIFE code extension table).
    for n in range(4):
        t[0x100 + n] = ("Currency units", "Credit", _p10(n - 3))
        t[0x104 + n] = ("Currency units", "Debit", _p10(n - 3))
    names = {
        0x108: ("", "Access Number (transmission count)"),
        0x109: ("", "Medium"),
        0x10A: ("", "Manufacturer"),
        0x10B: ("", "Parameter set identification"),
        0x10C: ("", "Model / Version"),
        0x10D: ("", "Hardware version"),
        0x10E: ("", "Firmware version"),
        0x10F: ("", "Software version"),
        0x110: ("", "Customer location"),
        0x111: ("", "Customer"),
        0x112: ("", "Access Code User"),
        0x113: ("", "Access Code Operator"),
        0x114: ("", "Access Code System Operator"),
        0x115: ("", "Access Code Developer"),
        0x116: ("", "Password"),
        0x117: ("", "Error flags"),
        0x118: ("", "Error mask"),
        0x119: ("Reserved", "Reserved"),
        0x11A: ("", "Digital Output"),
        0x11B: ("", "Digital Input"),
        0x11C: ("Baud", "Baudrate"),
        0x11D: ("Bittimes", "Response delay time"),
        0x11E: ("", "Retry"),
        0x11F: ("Reserved", "Reserved"),
        0x120: ("", "First storage # for cyclic storage"),
        0x121: ("", "Last storage # for cyclic storage"),
        0x122: ("", "Size of storage block"),
        0x123: ("Reserved", "Reserved"),
        0x12A: ("Reserved", "Reserved"),
        0x12B: ("Reserved", "Reserved"),
        0x130: ("-", "Start (date/time) of tariff"),
        0x13A: ("", "Dimensionless"),
        0x13B: ("Reserved", "Reserved"),
        0x160: ("", "Reset counter"),
        0x161: ("", "Cumulation counter"),
        0x162: ("", "Control signal"),
        0x163: ("", "Day of week"),
        0x164: ("", "Week number"),
        0x165: ("", "Time point of day change"),
        0x166: ("", "State of parameter activation"),
        0x167: ("", "Special supplier information"),
        0x170: ("-", "Date and time of battery change"),
    }
    for code, (unit, quantity) in names.items():
        t[code] = (unit, quantity, one)
    for code in range(0x13C, 0x140):
        t[code] = ("Reserved", "Reserved", one)
    for code in range(0x171, 0x180):
        t[code] = ("Reserved", "Reserved", one)
    t[0x171] = ("dBm", "RF level", one)  # EN 13757-3:2013
    t[0x174] = ("s", "Remaining battery life time", _SECONDS[3])
    t[0x175] = ("", "Number of times the meter was stopped", one)
    long_units = (*_SECONDS, _MONTH_S, _YEAR_S)
    for n in range(6):
        t[0x124 + n] = ("s", "Storage interval", long_units[n])
        t[0x134 + n] = ("s", "Period of tariff", long_units[n])
    for n in range(4):
        t[0x12C + n] = ("s", "Duration since last readout", _SECONDS[n])
        t[0x168 + n] = ("s", "Duration since last cumulation", long_units[n + 2])
        t[0x16C + n] = ("s", "Operating time battery", long_units[n + 2])
    for n in range(1, 4):
        t[0x130 + n] = ("s", "Duration of tariff", _SECONDS[n])
    for n in range(16):
        t[0x140 + n] = ("V", "Voltage", _p10(n - 9))
        t[0x150 + n] = ("A", "Current", _p10(n - 12))

    # FBh: EN 13757-3 table 14 (alternate extended VIF code table).
    for code in range(0x200, 0x280):
        t[code] = ("Reserved", "Reserved", one)
    for n in range(2):
        t[0x200 + n] = ("Wh", "Energy", _p10(n + 5))
        t[0x208 + n] = ("J", "Energy", _p10(n + 8))
        t[0x210 + n] = ("m^3", "Volume", _p10(n + 2))
        t[0x218 + n] = ("kg", "Mass", _p10(n + 5))
        t[0x228 + n] = ("W", "Power", _p10(n + 5))
        t[0x230 + n] = ("J/h", "Power", _p10(n + 8))
    # Added by EN 13757-3:2013 (libmbus still prints these as Reserved).
    for n in range(2):
        t[0x202 + n] = ("VARh", "Reactive energy", _p10(n + 3))
        t[0x21A + n] = ("%", "Relative humidity", _p10(n - 1))
    for n in range(4):
        t[0x20C + n] = ("MCal", "Energy", _p10(n - 1))
        t[0x214 + n] = ("VAR", "Reactive power", _p10(n))
        t[0x22C + n] = ("Hz", "Frequency", _p10(n - 3))
        t[0x234 + n] = ("VA", "Apparent power", _p10(n))
    t[0x220] = ("feet^3", "Volume", one)
    t[0x22A] = ("°", "Phase U-U (volt. to volt.)", _p10(-1))
    t[0x22B] = ("°", "Phase U-I (volt. to current)", _p10(-1))
    t[0x221] = ("feet^3", "Volume", _p10(-1))
    t[0x222] = ("American gallon", "Volume", _p10(-1))
    t[0x223] = ("American gallon", "Volume", one)
    t[0x224] = ("American gallon/min", "Volume flow", _p10(-3))
    t[0x225] = ("American gallon/min", "Volume flow", one)
    t[0x226] = ("American gallon/h", "Volume flow", one)
    for n in range(4):
        t[0x258 + n] = ("°F", "Flow temperature", _p10(n - 3))
        t[0x25C + n] = ("°F", "Return temperature", _p10(n - 3))
        t[0x260 + n] = ("°F", "Temperature difference", _p10(n - 3))
        t[0x264 + n] = ("°F", "External temperature", _p10(n - 3))
        t[0x270 + n] = ("°F", "Cold / Warm Temperature Limit", _p10(n - 3))
        t[0x274 + n] = ("°C", "Cold / Warm Temperature Limit", _p10(n - 3))
    for n in range(8):
        t[0x278 + n] = ("W", "Cumul count max power", _p10(n - 3))
    return t


VIF_TABLE: dict[int, VifEntry] = _build_vif_table()

# Where libmbus's normalised table differs from the standard (unit, quantity,
# scale as libmbus prints them). Used only by the libmbus-compatible XML.
_LIBMBUS_RESERVED = (0x171, 0x174, 0x175, 0x202, 0x203, 0x20C, 0x20D, 0x20E, 0x20F, 0x214,
                     0x215, 0x216, 0x217, 0x21A, 0x21B, 0x220, 0x22A, 0x22B, 0x22C, 0x22D,
                     0x22E, 0x22F, 0x234, 0x235, 0x236, 0x237)
LIBMBUS_VIF_OVERRIDES: dict[int, VifEntry] = {
    **{code: ("Reserved", "Reserved", Decimal(1)) for code in _LIBMBUS_RESERVED},
    0x130: ("Reserved", "Reserved", Decimal(1)),
    0x170: ("", "Date and time of battery change", Decimal(1)),
    0x208: ("Reserved", "Energy", _p10(8)),
    0x209: ("Reserved", "Energy", _p10(9)),
    0x230: ("J", "Power", _p10(8)),
    0x231: ("J", "Power", _p10(9)),
    0x279: ("W", "Cumul count max power", _p10(-3)),
}

# Combinable (orthogonal) VIFE codes, EN 13757-3 table 15, extension bit cleared.
_TIME_UNITS = ("s", "min", "h", "d")


def _build_vife_table() -> dict[int, str]:
    t: dict[int, str] = {}
    record_errors = {
        0x00: "None",
        0x01: "Too many DIFE's",
        0x02: "Storage number not implemented",
        0x03: "Unit number not implemented",
        0x04: "Tariff number not implemented",
        0x05: "Function not implemented",
        0x06: "Data class not implemented",
        0x07: "Data size not implemented",
        0x0B: "Too many VIFE's",
        0x0C: "Illegal VIF-Group",
        0x0D: "Illegal VIF-Exponent",
        0x0E: "VIF/DIF mismatch",
        0x0F: "Unimplemented action",
        0x15: "No data available (undefined value)",
        0x16: "Data overflow",
        0x17: "Data underflow",
        0x18: "Data error",
        0x1C: "Premature end of record",
    }
    for code in range(0x20):
        t[code] = "Record error: " + record_errors.get(code, "Reserved")
    per = ("second", "minute", "hour", "day", "week", "month", "year", "revolution / measurement")
    for n, name in enumerate(per):
        t[0x20 + n] = "per " + name
    t[0x28] = "increment per input pulse on input channel #0"
    t[0x29] = "increment per input pulse on input channel #1"
    t[0x2A] = "increment per output pulse on output channel #0"
    t[0x2B] = "increment per output pulse on output channel #1"
    t[0x2C] = "per litre"
    t[0x2D] = "per m^3"
    t[0x2E] = "per kg"
    t[0x2F] = "per K"
    t[0x30] = "per kWh"
    t[0x31] = "per GJ"
    t[0x32] = "per kW"
    t[0x33] = "per (K*l)"
    t[0x34] = "per V"
    t[0x35] = "per A"
    t[0x36] = "multiplied by s"
    t[0x37] = "multiplied by s/V"
    t[0x38] = "multiplied by s/A"
    t[0x39] = "start date(/time) of"
    t[0x3A] = "VIF contains uncorrected unit"
    t[0x3B] = "accumulation only if positive contributions"
    t[0x3C] = "accumulation of abs value only if negative contributions"
    for code in (0x3D, 0x3E, 0x3F):
        t[code] = "Reserved"
    for u, limit in ((0, "lower"), (1, "upper")):
        t[0x40 | u << 3] = f"{limit} limit value"
        t[0x41 | u << 3] = f"# of exceeds of {limit} limit"
        t[0x44 | u << 3] = "Reserved"
        t[0x45 | u << 3] = "Reserved"
        for f, which in ((0, "first"), (1, "last")):
            for b, edge in ((0, "begin"), (1, "end")):
                t[0x42 | u << 3 | f << 2 | b] = (
                    f"date(/time) of {edge} of {which} {limit} limit exceed"
                )
            for nn in range(4):
                t[0x50 | u << 3 | f << 2 | nn] = (
                    f"duration of {which} {limit} limit exceed ({_TIME_UNITS[nn]})"
                )
    for f, which in ((0, "first"), (1, "last")):
        for nn in range(4):
            t[0x60 | f << 2 | nn] = f"duration of {which} ({_TIME_UNITS[nn]})"
    t[0x68] = "value during lower limit exceed"
    t[0x6C] = "value during upper limit exceed"
    t[0x69] = "Reserved"
    t[0x6D] = "Reserved"
    for f, which in ((0, "first"), (1, "last")):
        for b, edge in ((0, "begin"), (1, "end")):
            t[0x6A | f << 2 | b] = f"date(/time) of {edge} of {which}"
    for n in range(8):
        t[0x70 + n] = f"multiplicative correction factor 1e{n - 6}"
    for n in range(4):
        t[0x78 + n] = f"additive correction constant 1e{n - 3} * unit of VIF (offset)"
    t[0x7C] = "Reserved"
    t[0x7D] = "multiplicative correction factor 1e3"
    t[0x7E] = "future value"
    t[0x7F] = "next VIFE's and data of this block are manufacturer specific"
    return t


ORTHOGONAL_VIFE: dict[int, str] = _build_vife_table()

# EN 13757-3 table 3 (device type / medium), names as libmbus prints them.
MEDIUM: dict[int, str] = {
    0x00: "Other",
    0x01: "Oil",
    0x02: "Electricity",
    0x03: "Gas",
    0x04: "Heat: Outlet",
    0x05: "Steam",
    0x06: "Warm water (30-90°C)",
    0x07: "Water",
    0x08: "Heat Cost Allocator",
    0x09: "Compressed Air",
    0x0A: "Cooling load meter: Outlet",
    0x0B: "Cooling load meter: Inlet",
    0x0C: "Heat: Inlet",
    0x0D: "Heat / Cooling load meter",
    0x0E: "Bus/System",
    0x0F: "Unknown Medium",
    0x15: "Hot water (>=90°C)",
    0x16: "Cold water",
    0x17: "Dual water",
    0x18: "Pressure",
    0x19: "A/D Converter",
    0x1A: "Smoke detector",
    0x1B: "Room sensor",
    0x1C: "Gas detector",
    0x20: "Breaker (electricity)",
    0x21: "Valve (gas or water)",
    0x25: "Customer unit (display device)",
    0x28: "Waste water",
    0x29: "Garbage",
    0x2A: "Carbon dioxide",
    0x31: "Communication controller",
    0x32: "Unidirectional repeater",
    0x33: "Bidirectional repeater",
    0x36: "Radio converter (system side)",
    0x37: "Radio converter (meter side)",
}


def medium_name(code: int) -> str:
    """Medium text for the fixed header's device-type byte."""
    name = MEDIUM.get(code)
    if name is not None:
        return name
    if 0x10 <= code <= 0x14 or 0x1D <= code <= 0x1F or 0x22 <= code <= 0x24 \
            or 0x26 <= code <= 0x27 or 0x2B <= code <= 0x30 or 0x34 <= code <= 0x35 \
            or code >= 0x38:
        return "Reserved"
    return f"Unknown medium (0x{code:02x})"


# EN 13757-3 6.2 (CI = 70h): general application errors.
APPLICATION_ERRORS: dict[int, str] = {
    0x00: "Unspecified error",
    0x01: "Unimplemented CI-Field",
    0x02: "Buffer too long, truncated",
    0x03: "Too many records",
    0x04: "Premature end of record",
    0x05: "More than 10 DIFE´s",
    0x06: "More than 10 VIFE´s",
    0x07: "Reserved",
    0x08: "Application busy",
    0x09: "Too many readouts",
}


def application_error_text(code: int) -> str:
    return APPLICATION_ERRORS.get(code, f"Unknown error (0x{code:02X})")


# Fixed data structure (CI 73h/77h), EN 13757-3 annex: unit codes of each counter.
FIXED_MEDIUM: tuple[str, ...] = (
    "Other", "Oil", "Electricity", "Gas", "Heat", "Steam", "Hot Water", "Water",
    "H.C.A.", "Reserved", "Gas Mode 2", "Heat Mode 2", "Hot Water Mode 2",
    "Water Mode 2", "H.C.A. Mode 2", "Reserved",
)

FIXED_UNIT_TEXT: dict[int, str] = {
    0x00: "h,m,s", 0x01: "D,M,Y", 0x02: "Wh", 0x03: "10 Wh", 0x04: "100 Wh",
    0x05: "kWh", 0x06: "10 kWh", 0x07: "100 kWh", 0x08: "MWh", 0x09: "10 MWh",
    0x0A: "100 MWh", 0x0B: "kJ", 0x0C: "10 kJ", 0x0D: "100 kJ", 0x0E: "MJ",
    0x0F: "10 MJ", 0x10: "100 MJ", 0x11: "GJ", 0x12: "10 GJ", 0x13: "100 GJ",
    0x14: "W", 0x15: "10 W", 0x16: "100 W", 0x17: "kW", 0x18: "10 kW",
    0x19: "100 kW", 0x1A: "MW", 0x1B: "10 MW", 0x1C: "100 MW", 0x1D: "kJ/h",
    0x1E: "10 kJ/h", 0x1F: "100 kJ/h", 0x20: "MJ/h", 0x21: "10 MJ/h",
    0x22: "100 MJ/h", 0x23: "GJ/h", 0x24: "10 GJ/h", 0x25: "100 GJ/h",
    0x26: "ml", 0x27: "10 ml", 0x28: "100 ml", 0x29: "l", 0x2A: "10 l",
    0x2B: "100 l", 0x2C: "m^3", 0x2D: "10 m^3", 0x2E: "100 m^3", 0x2F: "ml/h",
    0x30: "10 ml/h", 0x31: "100 ml/h", 0x32: "l/h", 0x33: "10 l/h",
    0x34: "100 l/h", 0x35: "m^3/h", 0x36: "10 m^3/h", 0x37: "100 m^3/h",
    0x38: "1e-3 °C", 0x39: "units for HCA", 0x3A: "reserved", 0x3B: "reserved",
    0x3C: "reserved", 0x3D: "reserved", 0x3E: "reserved but historic",
    0x3F: "without units",
}

# libmbus prints the MJ rows in a different order than the standard's table;
# these three codes are the ones its text deviates on.
LIBMBUS_FIXED_UNIT_TEXT: dict[int, str] = {0x0D: "MJ", 0x0E: "100 kJ", 0x2E: "m^3"}


def _fixed_units() -> dict[int, tuple[str, str, Decimal]]:
    t: dict[int, tuple[str, str, Decimal]] = {}
    for n in range(9):
        t[0x02 + n] = ("Wh", "Energy", _p10(n))
        t[0x0B + n] = ("J", "Energy", _p10(n + 3))
        t[0x14 + n] = ("W", "Power", _p10(n))
        t[0x1D + n] = ("J/h", "Power", _p10(n + 3))
        t[0x26 + n] = ("m^3", "Volume", _p10(n - 6))
        t[0x2F + n] = ("m^3/h", "Volume flow", _p10(n - 6))
    t[0x38] = ("°C", "Temperature", _p10(-3))
    t[0x39] = ("Units for H.C.A.", "H.C.A.", Decimal(1))
    t[0x3E] = ("", "historic", Decimal(1))
    t[0x3F] = ("", "No units", Decimal(1))
    return t


FIXED_UNITS: dict[int, tuple[str, str, Decimal]] = _fixed_units()


def manufacturer_code(value: int) -> str:
    """Three-letter FLAG code packed as 3 x 5 bits (EN 13757-3 6.3.3)."""
    return "".join(chr(((value >> shift) & 0x1F) + 64) for shift in (10, 5, 0))
