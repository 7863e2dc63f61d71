from decimal import Decimal
from pathlib import Path

import pytest

from firmware_bridge.codecs.mqtt_meter_formats import decode_mbus_hex
from firmware_bridge.errors import FrameError

VECTOR = Path("/work/shared/vectors/mbus/libmbus/test-frames/ACW_Itron-BM-plus-m.hex")


def test_mbus_hex_maps_records_by_storage_tariff_unit():
    payload = VECTOR.read_text().replace(" ", "").strip().encode()
    out = decode_mbus_hex("mbus/1", payload, "W1", {(0, 0, "Volume", "m^3"): "volume_m3"})
    assert [(v.register, v.value) for v in out] == [("volume_m3", Decimal("54.321"))]


@pytest.mark.parametrize("payload,field", [(b"zz", "payload"), (b"6803036808", None)])
def test_mbus_hex_malformed_raises_frame_error(payload, field):
    with pytest.raises(FrameError) as info:
        decode_mbus_hex("mbus/1", payload, "W1", {})
    assert "mbus/1" in str(info.value)
    if field:
        assert info.value.field == field
