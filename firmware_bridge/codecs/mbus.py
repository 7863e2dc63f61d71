"""Wired M-Bus decoding with a pure-Python and a Cython implementation.

``METERBILL_CODEC_IMPL=python|cython`` forces one implementation; a forced one
that fails to import raises :class:`ImportError` naming it and why. Unset, the
Cython build is used when it imports and the pure one otherwise (the same
binding psycopg does for ``psycopg.pq``). ``__impl__`` tells which one runs.

Both return the dataclasses of :mod:`firmware_bridge.codecs.mbus_records`
and raise :class:`~firmware_bridge.errors.FrameError` for any frame that
cannot be decoded.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from firmware_bridge.codecs.mbus_link import LongFrame, find_link_frame
from firmware_bridge.codecs.mbus_records import Telegram

_MODULES = {
    "python": "firmware_bridge.codecs._mbus_decode_py",
    "cython": "firmware_bridge.codecs._mbus_decode_cy",
}


def load_impl(name: str) -> ModuleType:
    """Import one implementation by name ("python" or "cython")."""
    if name not in _MODULES:
        raise ImportError(
            f"METERBILL_CODEC_IMPL={name!r}: unknown M-Bus codec implementation "
            f"(choose one of {', '.join(sorted(_MODULES))})"
        )
    try:
        return importlib.import_module(_MODULES[name])
    except ImportError as exc:
        raise ImportError(
            f"M-Bus codec implementation {name!r} cannot be imported: {exc} "
            "(build it with `pip install --no-build-isolation -e .`)"
        ) from exc


def _load(requested: str) -> ModuleType:
    if requested:
        return load_impl(requested)
    errors = []
    for name in ("cython", "python"):
        try:
            return load_impl(name)
        except ImportError as exc:  # pragma: no cover - python always imports
            errors.append(str(exc))
    raise ImportError("no M-Bus codec implementation imports: " + "; ".join(errors))


_module = _load(os.environ.get("METERBILL_CODEC_IMPL", "").strip().lower())
__impl__: str = _module.__impl__
decode_frame = _module.decode_frame
decode_user_data = _module.decode_user_data


def decode(buf: bytes | bytearray | memoryview) -> tuple[Telegram | None, int]:
    """Streaming decode: ``(telegram | None, consumed)`` as in STYLE.md.

    ``(None, 0)`` waits for more bytes, ``(None, n)`` drops ``n`` bytes of
    noise or a frame that is not a long frame (an E5 or short frame is
    consumed the same way). A long frame whose link layer is valid but whose
    application data cannot be decoded raises FrameError: that is a meter
    bug, not line noise.
    """
    frame, used = find_link_frame(buf)
    if frame is None or not isinstance(frame, LongFrame):
        return None, used
    return decode_user_data(frame.c, frame.a, frame.ci, frame.data), used


__all__ = ["__impl__", "decode", "decode_frame", "decode_user_data", "load_impl"]
