"""Write small profile files for the loader and planner tests."""

from __future__ import annotations

from pathlib import Path

HEADER = '''manufacturer = "Test"
model = "T1"
max_registers_per_request = {max_regs}
max_gap_registers = {max_gap}
function_code = 4

[source]
title = "Test register map"
version = "1"
date = "2026-01-01"
'''

DEFAULT_TEST = '''
[[tests]]
name = "t"
blocks = [{{ function_code = {fc}, address = {address}, words = {words} }}]
expect = {{ {name} = "{value}" }}
'''


def register_toml(name: str, address: int, type_: str = "float32", *, unit: str = "W",
                  extra: str = "", scale: str = '"1"') -> str:
    """One [[registers]] table."""
    return (f'\n[[registers]]\nname = "{name}"\naddress = {address}\ntype = "{type_}"\n'
            f'scale = {scale}\nunit = "{unit}"\nquantity = "q"\n{extra}')


def write_profile(tmp_path: Path, body: str, *, file_name: str = "bad.toml",
                  max_regs: int = 125, max_gap: int = 0, tests: str | None = None) -> Path:
    """A profile file made of the header, ``body`` (registers) and a test case."""
    if tests is None:
        tests = DEFAULT_TEST.format(fc=4, address=0, words="[0x3F80, 0x0000]",
                                    name="a_w", value="1")
    path = tmp_path / file_name
    path.write_text(HEADER.format(max_regs=max_regs, max_gap=max_gap) + body + tests,
                    encoding="utf-8")
    return path
