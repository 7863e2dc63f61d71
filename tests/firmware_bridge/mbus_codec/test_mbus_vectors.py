"""libmbus's shared vectors: every frame decodes and agrees with its expected XML.

The comparison is element by element (SlaveInformation fields, then every
DataRecord's Function, StorageNumber, Tariff, Device, Unit, Quantity and
Value), and then the whole text byte for byte. The files are UTF-8 despite
their ISO-8859-1 declaration (see the vectors' README).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest

from firmware_bridge.codecs.mbus_records import ApplicationError, VariableDataResponse
from firmware_bridge.codecs.mbus_xml import to_libmbus_xml
from firmware_bridge.errors import FrameError

from .conftest import VECTORS, read_hex


def _sibling(path: Path, suffix: str) -> Path:
    """``NAME.hex`` -> ``NAME<suffix>``; names may contain dots (``v1.4_gas``)."""
    return path.parent / (path.name.removesuffix(".hex") + suffix)


TEST_FRAMES = sorted((VECTORS / "test-frames").glob("*.hex"))
ERROR_FRAMES = sorted((VECTORS / "error-frames").glob("*.hex"))
APP_ERRORS = [p for p in ERROR_FRAMES if _sibling(p, ".xml").exists()]
MALFORMED = [p for p in ERROR_FRAMES if not _sibling(p, ".xml").exists()]


def _tree(text: str) -> ET.Element:
    body = text.split("?>", 1)[1] if text.startswith("<?xml") else text
    return ET.fromstring(body)


def _fields(element: ET.Element) -> list[tuple[str, str]]:
    return [(child.tag, child.text or "") for child in element]


def test_vector_counts_match_readme() -> None:
    assert len(TEST_FRAMES) == 51
    assert len(APP_ERRORS) == 8
    assert len(MALFORMED) == 6
    total = sum(len(_tree(_sibling(p, ".norm.xml").read_bytes().decode()).findall(
        "DataRecord")) for p in TEST_FRAMES)
    assert total == 598


@pytest.mark.parametrize("path", TEST_FRAMES, ids=lambda p: p.stem)
def test_test_frame_agrees_with_norm_xml(impl: ModuleType, path: Path) -> None:
    expected_text = _sibling(path, ".norm.xml").read_bytes().decode("utf-8")
    telegram = impl.decode_frame(read_hex(path))
    got_text = to_libmbus_xml(telegram)
    expected, got = _tree(expected_text), _tree(got_text)
    assert _fields(got.find("SlaveInformation")) == _fields(expected.find("SlaveInformation"))
    exp_records, got_records = expected.findall("DataRecord"), got.findall("DataRecord")
    assert len(got_records) == len(exp_records)
    for exp_rec, got_rec in zip(exp_records, got_records, strict=True):
        assert got_rec.get("id") == exp_rec.get("id")
        assert _fields(got_rec) == _fields(exp_rec), f"record {exp_rec.get('id')}"
    assert got_text == expected_text


@pytest.mark.parametrize("path", APP_ERRORS, ids=lambda p: p.stem)
def test_application_error_frame_decodes_to_error_report(impl: ModuleType, path: Path) -> None:
    expected_text = _sibling(path, ".xml").read_bytes().decode("utf-8")
    telegram = impl.decode_frame(read_hex(path))
    assert isinstance(telegram, ApplicationError)
    assert telegram.text == _tree(expected_text).find("SlaveInformation/Error").text
    assert to_libmbus_xml(telegram) == expected_text


@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.stem)
def test_malformed_frame_raises_frame_error(impl: ModuleType, path: Path) -> None:
    with pytest.raises(FrameError) as info:
        impl.decode_frame(read_hex(path))
    assert info.value.offset is not None and info.value.field
    assert f"at byte {info.value.offset}" in str(info.value)


@pytest.mark.parametrize(
    ("name", "field"),
    [("premature_end_of_data1", "data"), ("premature_end_of_data2", "data"),
     ("premature_end_of_dif2", "DIFE"), ("premature_end_of_vif1", "VIF"),
     ("too_long_var_vif", "VIF text"), ("too_many_vife", "VIFE")],
)
def test_malformed_frame_names_the_field(impl: ModuleType, name: str, field: str) -> None:
    with pytest.raises(FrameError) as info:
        impl.decode_frame(read_hex(VECTORS / "error-frames" / f"{name}.hex"))
    assert info.value.field == field


@pytest.mark.parametrize(
    "name", ["invalid_length", "invalid_length2", "manual_frame4", "manual_frame5",
             "manual_frame6"],
)
def test_unsupported_frames_raise_frame_error(impl: ModuleType, name: str) -> None:
    with pytest.raises(FrameError):
        impl.decode_frame(read_hex(VECTORS / "unsupported-frames" / f"{name}.hex"))


def test_long_unsupported_rsp_ud_still_decodes(impl: ModuleType) -> None:
    telegram = impl.decode_frame(read_hex(VECTORS / "unsupported-frames" /
                                          "svm_f22_telegram2.hex"))
    assert isinstance(telegram, VariableDataResponse)
    assert telegram.more_records_follow
    assert telegram.header is not None and telegram.header.manufacturer == "SVM"


@pytest.mark.parametrize("path", TEST_FRAMES, ids=lambda p: p.stem)
def test_python_and_cython_agree_on_vectors(path: Path) -> None:
    from firmware_bridge.codecs import mbus

    frame = read_hex(path)
    assert mbus.load_impl("python").decode_frame(frame) == \
        mbus.load_impl("cython").decode_frame(frame)
