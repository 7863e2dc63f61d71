"""Declarative Modbus device profiles: one TOML file per meter model.

A profile is data, the way wmbusmeters keeps one driver file per meter
(``drivers/src/*.xmq``): who made the meter, the manufacturer document the
register map was copied from, the registers in our vocabulary, and test cases
with raw register words and the values they must decode to. A new meter is
one new file in ``firmware_bridge/profiles/``; no code changes.

File layout (every key is checked; an unknown key is an error, so a typo
cannot silently drop a setting)::

    manufacturer = "Eastron"
    model = "SDM630"
    max_registers_per_request = 80   # device limit, <= 125 (Modbus V1.1b 6.3/6.4)
    max_gap_registers = 40           # unused registers a read may span
    function_code = 4                # defaults for every register below
    word_order = "big"
    byte_order = "big"

    [source]                         # the manufacturer document, required
    title = "..."; version = "..."; date = "..."; url = "..."; notes = "..."

    [[registers]]
    name = "energy_import_kwh"       # our vocabulary: quantity + unit suffix
    address = 0x0048                 # protocol (0-based) address, as on the wire
    type = "float32"                 # count follows from the type
    scale = "1"                      # string or int, never float: kept exact
    unit = "kWh"
    quantity = "energy"

    [[tests]]
    name = "..."
    blocks = [{ function_code = 4, address = 0x0048, words = [0x4499, 0x0666] }]
    expect = { energy_import_kwh = "1224.2" }

Errors are :class:`~firmware_bridge.errors.ProfileError` and name the key and
the file, e.g. ``registers[3].count = 3: float32 needs 2 registers
(sdm630.toml)``.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import Any

from firmware_bridge.codecs.modbus_values import (
    DATA_TYPES,
    Order,
    decode_value,
    decoder,
    encode_value,
    register_count,
)
from firmware_bridge.errors import ProfileError

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"

# 60 digits: a uint64 (20 digits) times any sane scale never rounds.
_EXACT = Context(prec=60)

# Modbus Application Protocol V1.1b, 6.3 (FC 03) and 6.4 (FC 04): 1..125 registers.
MODBUS_MAX_READ_REGISTERS = 125
FUNCTION_CODES = {3: "holding", 4: "input"}

# Register names end in their unit (STYLE.md "Naming"); where the suffix is one
# of these, the declared unit must agree, which catches a Wh map declared as kWh.
UNIT_SUFFIXES: dict[str, str] = {
    "_kwh": "kWh",
    "_mwh": "MWh",
    "_wh": "Wh",
    "_kvarh": "kvarh",
    "_w": "W",
    "_kw": "kW",
    "_var": "var",
    "_va": "VA",
    "_v": "V",
    "_a": "A",
    "_hz": "Hz",
    "_m3": "m3",
    "_l": "l",
    "_m3_h": "m3/h",
    "_c": "°C",
    "_k": "K",
    "_gj": "GJ",
}

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_KEYS = {
    "manufacturer", "model", "description", "max_registers_per_request",
    "max_gap_registers", "function_code", "word_order", "byte_order",
    "source", "registers", "tests",
}
_SOURCE_KEYS = {"title", "document", "version", "date", "url", "notes"}
_REGISTER_KEYS = {
    "name", "function_code", "address", "count", "type", "word_order", "byte_order",
    "scale", "unit", "quantity", "description",
}
_TEST_KEYS = {"name", "blocks", "expect"}
_BLOCK_KEYS = {"function_code", "address", "words"}


@dataclass(frozen=True)
class Source:
    """The manufacturer document the register map was taken from."""

    title: str
    version: str
    date: str
    document: str = ""
    url: str = ""
    notes: str = ""

    def citation(self) -> str:
        """One line: title, document number, version and date."""
        parts = [self.title]
        for part in (self.document, self.version, self.date):
            if part and part not in parts:
                parts.append(part)
        return ", ".join(parts)


@dataclass(frozen=True)
class RegisterSpec:
    """One value in the device's register map."""

    name: str
    function_code: int
    address: int
    count: int
    data_type: str
    order: Order
    scale: Decimal
    unit: str
    quantity: str
    description: str = ""

    _decode_raw: Callable[[Sequence[int]], Decimal] = field(
        init=False, repr=False, compare=False, hash=False, default=decode_value)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_decode_raw", decoder(self.data_type, self.order))

    @property
    def end(self) -> int:
        """First address after this register (exclusive)."""
        return self.address + self.count

    def decode(self, words: Sequence[int]) -> Decimal:
        """Raw words -> value in ``unit``, exact (raw value x scale)."""
        raw = self._decode_raw(words)
        if self.scale == 1:
            return raw
        return _EXACT.multiply(raw, self.scale)

    def encode(self, value: Decimal | int | str) -> list[int]:
        """Value in ``unit`` -> the words a device sends (inverse of :meth:`decode`).

        For integer types the value must be a whole multiple of the scale, as
        it is on the device; anything else is a ValueError.
        """
        number = value if isinstance(value, Decimal) else Decimal(value)
        with localcontext() as ctx:
            ctx.prec = 60
            raw = number / self.scale
        if self.data_type.startswith("float"):
            return encode_value(self.data_type, self.order, raw)
        if raw != raw.to_integral_value():
            raise ValueError(
                f"{self.name} = {value}: not a multiple of its scale {self.scale}"
            )
        return encode_value(self.data_type, self.order, raw)


@dataclass(frozen=True)
class RawBlock:
    """Register words as read from the device, starting at ``address``."""

    function_code: int
    address: int
    words: tuple[int, ...]


@dataclass(frozen=True)
class ProfileCase:
    """An embedded test case: raw words and the values they must decode to."""

    name: str
    blocks: tuple[RawBlock, ...]
    expect: Mapping[str, Decimal] = field(hash=False)

    def words_for(self, register: RegisterSpec) -> list[int]:
        """The words of ``register`` taken from this case's raw blocks."""
        words = []
        for address in range(register.address, register.end):
            words.append(self.word_at(register.function_code, address))
        return words

    def word_at(self, function_code: int, address: int) -> int:
        """One raw word; KeyError when no block of this case holds it."""
        for block in self.blocks:
            offset = address - block.address
            if block.function_code == function_code and 0 <= offset < len(block.words):
                return block.words[offset]
        raise KeyError((function_code, address))


@dataclass(frozen=True)
class DeviceProfile:
    """A meter model's register map, loaded from one TOML file."""

    key: str
    path: Path
    manufacturer: str
    model: str
    description: str
    source: Source
    max_registers_per_request: int
    max_gap_registers: int
    registers: tuple[RegisterSpec, ...]
    tests: tuple[ProfileCase, ...]
    _by_name: Mapping[str, RegisterSpec] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {r.name: r for r in self.registers})

    def register_image(self, values: Mapping[str, Decimal | int | str]
                       ) -> dict[int, dict[int, int]]:
        """``{function code: {address: word}}`` a device holding ``values`` would serve.

        The simulators fill their datastore from this, with the same encoder
        the tests pin against hand-written words; unknown names are a
        ProfileError, values the register type cannot hold a ValueError.
        """
        image: dict[int, dict[int, int]] = {3: {}, 4: {}}
        for name, value in values.items():
            register = self.register(name)
            words = register.encode(value)
            space = image[register.function_code]
            for offset, word in enumerate(words):
                space[register.address + offset] = word
        return image

    def register(self, name: str) -> RegisterSpec:
        """The register called ``name``; ProfileError names the profile if absent."""
        register = self._by_name.get(name)
        if register is not None:
            return register
        raise ProfileError(
            f"no register {name!r} in profile {self.key} ({self.path.name}); "
            f"known: {', '.join(r.name for r in self.registers)}"
        )


# --------------------------------------------------------------------------- #
# loading and validation
# --------------------------------------------------------------------------- #


class _Checker:
    """Reads values out of the parsed TOML, raising ProfileError with file and key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, message: str, value: Any = ...) -> ProfileError:
        shown = "" if value is ... else f" = {_show(value)}"
        return ProfileError(f"{key}{shown}: {message} ({self.path.name})")

    def unknown_keys(self, table: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                where = f"{prefix}.{key}" if prefix else key
                raise self.fail(where, f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def string(self, table: Mapping[str, Any], key: str, where: str, *,
               default: str | None = None) -> str:
        if key not in table:
            if default is None:
                raise self.fail(where, "missing")
            return default
        value = table[key]
        if not isinstance(value, str) or (default is None and not value.strip()):
            raise self.fail(where, "must be a non-empty string", value)
        return value

    def integer(self, table: Mapping[str, Any], key: str, where: str, *,
                default: int | None = None, low: int, high: int) -> int:
        if key not in table:
            if default is None:
                raise self.fail(where, "missing")
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, "must be an integer", value)
        if not low <= value <= high:
            raise self.fail(where, f"must be in {low}..{high}", value)
        return value

    def choice(self, table: Mapping[str, Any], key: str, where: str, choices: tuple[Any, ...],
               default: Any) -> Any:
        if key not in table and default is None:
            raise self.fail(where, "missing")
        value = table.get(key, default)
        if value not in choices or isinstance(value, bool):
            raise self.fail(where, f"must be one of {', '.join(map(str, choices))}", value)
        return value

    def decimal(self, value: Any, where: str) -> Decimal:
        """A scale or an expected value: strings or ints only, so it stays exact."""
        if isinstance(value, (bool, float)):
            raise self.fail(where, 'write it as a string, e.g. "0.01", so it stays exact',
                            value)
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, str):
            try:
                number = Decimal(value)
            except InvalidOperation:
                raise self.fail(where, "not a decimal number", value) from None
            if number.is_finite():
                return number
        raise self.fail(where, "not a finite decimal number", value)

    def table_list(self, data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        value = data.get(key)
        if not isinstance(value, list) or not value:
            raise self.fail(key, f"at least one [[{key}]] table is required")
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.fail(f"{key}[{i}]", "must be a table", item)
        return value


def _show(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return repr(value)


def _resolve(name_or_path: str | Path) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.parent != Path("."):
        if candidate.is_file():
            return candidate
        shipped = PROFILE_DIR / candidate.name
        if candidate.parent == Path(".") and shipped.is_file():
            return shipped  # "sdm630.toml" names the shipped file
        raise ProfileError(f"profile file {candidate} does not exist")
    path = PROFILE_DIR / f"{str(name_or_path).lower()}.toml"
    if path.is_file():
        return path
    raise ProfileError(
        f"unknown profile {name_or_path!r}; available: {', '.join(list_profiles())}"
    )


def list_profiles() -> list[str]:
    """Names of the profiles shipped in ``firmware_bridge/profiles/`` (file stems)."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def load_profile(name_or_path: str | Path) -> DeviceProfile:
    """Load and fully validate a profile, by shipped name (``sdm630``) or file path.

    Everything is checked before anything is returned: types and counts,
    addresses, overlapping registers, request limits, units against name
    suffixes, and that each embedded test case covers the registers it
    expects. The embedded cases are *not* decoded here; the test suite runs
    them (one parametrized test over every profile).
    """
    path = _resolve(name_or_path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"not valid TOML: {exc} ({path.name})") from exc
    return _build_profile(path, data)


def _build_profile(path: Path, data: Mapping[str, Any]) -> DeviceProfile:
    chk = _Checker(path)
    chk.unknown_keys(data, _TOP_KEYS, "")
    manufacturer = chk.string(data, "manufacturer", "manufacturer")
    model = chk.string(data, "model", "model")
    description = chk.string(data, "description", "description", default="")
    max_regs = chk.integer(data, "max_registers_per_request", "max_registers_per_request",
                           low=1, high=MODBUS_MAX_READ_REGISTERS)
    max_gap = chk.integer(data, "max_gap_registers", "max_gap_registers", default=0,
                          low=0, high=MODBUS_MAX_READ_REGISTERS)
    default_fc = (chk.choice(data, "function_code", "function_code", (3, 4), None)
                  if "function_code" in data else None)
    default_word = chk.choice(data, "word_order", "word_order", ("big", "little"), "big")
    default_byte = chk.choice(data, "byte_order", "byte_order", ("big", "little"), "big")

    source_table = data.get("source")
    if not isinstance(source_table, dict):
        raise chk.fail("source", "a [source] table citing the manufacturer document is required")
    chk.unknown_keys(source_table, _SOURCE_KEYS, "source")
    source = Source(
        title=chk.string(source_table, "title", "source.title"),
        version=chk.string(source_table, "version", "source.version"),
        date=chk.string(source_table, "date", "source.date"),
        document=chk.string(source_table, "document", "source.document", default=""),
        url=chk.string(source_table, "url", "source.url", default=""),
        notes=chk.string(source_table, "notes", "source.notes", default=""),
    )

    registers: list[RegisterSpec] = []
    for i, table in enumerate(chk.table_list(data, "registers")):
        registers.append(_build_register(chk, i, table, default_fc, default_word,
                                         default_byte, max_regs))
    _check_overlaps(chk, registers)

    tests = tuple(
        _build_case(chk, i, table, registers)
        for i, table in enumerate(chk.table_list(data, "tests"))
    )
    return DeviceProfile(
        key=path.stem,
        path=path,
        manufacturer=manufacturer,
        model=model,
        description=description,
        source=source,
        max_registers_per_request=max_regs,
        max_gap_registers=max_gap,
        registers=tuple(registers),
        tests=tests,
    )


def _build_register(chk: _Checker, i: int, table: Mapping[str, Any], default_fc: int | None,
                    default_word: str, default_byte: str, max_regs: int) -> RegisterSpec:
    at = f"registers[{i}]"
    chk.unknown_keys(table, _REGISTER_KEYS, at)
    name = chk.string(table, "name", f"{at}.name")
    if not _NAME_RE.match(name):
        raise chk.fail(f"{at}.name", "use lower_snake_case ending in the unit", name)
    fc_value = table.get("function_code", default_fc)
    if fc_value is None:
        raise chk.fail(f"{at}.function_code", "missing (and no top-level default)")
    fc = chk.choice({"function_code": fc_value}, "function_code", f"{at}.function_code",
                    (3, 4), None)
    address = chk.integer(table, "address", f"{at}.address", low=0, high=0xFFFF)
    data_type = chk.string(table, "type", f"{at}.type")
    if data_type not in DATA_TYPES:
        raise chk.fail(f"{at}.type", f"unknown type (known: {', '.join(DATA_TYPES)})",
                       data_type)
    need = register_count(data_type)
    count = chk.integer(table, "count", f"{at}.count", default=need, low=1, high=0xFFFF)
    if count != need:
        raise chk.fail(f"{at}.count", f"{data_type} needs {need} register"
                       f"{'s' if need > 1 else ''}", count)
    if address + count > 0x10000:
        raise chk.fail(f"{at}.address", f"{data_type} would run past register 0xFFFF", address)
    if count > max_regs:
        raise chk.fail(f"{at}.count", f"larger than max_registers_per_request = {max_regs}",
                       count)
    word = chk.choice(table, "word_order", f"{at}.word_order", ("big", "little"), default_word)
    byte = chk.choice(table, "byte_order", f"{at}.byte_order", ("big", "little"), default_byte)
    if "scale" not in table:
        raise chk.fail(f"{at}.scale", 'missing (use "1" for none)')
    scale = chk.decimal(table["scale"], f"{at}.scale")
    if scale == 0:
        raise chk.fail(f"{at}.scale", "must not be zero", table["scale"])
    unit = chk.string(table, "unit", f"{at}.unit")
    for suffix, expected_unit in sorted(UNIT_SUFFIXES.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            if unit != expected_unit:
                raise chk.fail(f"{at}.unit", f"name {name!r} says {expected_unit}", unit)
            break
    return RegisterSpec(
        name=name,
        function_code=fc,
        address=address,
        count=count,
        data_type=data_type,
        order=Order(word, byte),
        scale=scale,
        unit=unit,
        quantity=chk.string(table, "quantity", f"{at}.quantity"),
        description=chk.string(table, "description", f"{at}.description", default=""),
    )


def _check_overlaps(chk: _Checker, registers: list[RegisterSpec]) -> None:
    seen: dict[str, int] = {}
    for i, reg in enumerate(registers):
        if reg.name in seen:
            raise chk.fail(f"registers[{i}].name",
                           f"duplicate of registers[{seen[reg.name]}].name", reg.name)
        seen[reg.name] = i
    indexed = sorted(enumerate(registers), key=lambda p: (p[1].function_code, p[1].address))
    for (i_prev, prev), (i_cur, cur) in itertools.pairwise(indexed):
        if cur.function_code == prev.function_code and cur.address < prev.end:
            kind = FUNCTION_CODES[cur.function_code]
            raise chk.fail(
                f"registers[{i_cur}].address",
                f"{cur.name} overlaps registers[{i_prev}] ({prev.name}, {kind} registers "
                f"0x{prev.address:04X}..0x{prev.end - 1:04X})",
                cur.address,
            )


def _build_case(chk: _Checker, i: int, table: Mapping[str, Any],
                registers: list[RegisterSpec]) -> ProfileCase:
    at = f"tests[{i}]"
    chk.unknown_keys(table, _TEST_KEYS, at)
    name = chk.string(table, "name", f"{at}.name")
    raw_blocks = table.get("blocks")
    if not isinstance(raw_blocks, list) or not raw_blocks:
        raise chk.fail(f"{at}.blocks", "at least one block of raw words is required")
    blocks = []
    for j, block in enumerate(raw_blocks):
        bat = f"{at}.blocks[{j}]"
        if not isinstance(block, dict):
            raise chk.fail(bat, "must be a table", block)
        chk.unknown_keys(block, _BLOCK_KEYS, bat)
        fc = chk.choice(block, "function_code", f"{bat}.function_code", (3, 4), None)
        address = chk.integer(block, "address", f"{bat}.address", low=0, high=0xFFFF)
        words = block.get("words")
        if not isinstance(words, list) or not words:
            raise chk.fail(f"{bat}.words", "must be a non-empty list of 16-bit words")
        for k, word in enumerate(words):
            if isinstance(word, bool) or not isinstance(word, int) or not 0 <= word <= 0xFFFF:
                raise chk.fail(f"{bat}.words[{k}]", "not a 16-bit word", word)
        blocks.append(RawBlock(fc, address, tuple(words)))
    expect_table = table.get("expect")
    if not isinstance(expect_table, dict) or not expect_table:
        raise chk.fail(f"{at}.expect", "must map register names to expected values")
    by_name = {r.name: r for r in registers}
    expect: dict[str, Decimal] = {}
    case = ProfileCase(name, tuple(blocks), expect)
    for reg_name, value in expect_table.items():
        eat = f"{at}.expect.{reg_name}"
        if reg_name not in by_name:
            raise chk.fail(eat, "no such register")
        expect[reg_name] = chk.decimal(value, eat)
        try:
            case.words_for(by_name[reg_name])
        except KeyError as exc:
            fc, address = exc.args[0]
            raise chk.fail(eat, f"no block holds {FUNCTION_CODES[fc]} register "
                           f"0x{address:04X}") from None
    return case
