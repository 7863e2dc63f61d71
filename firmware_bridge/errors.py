"""Errors raised by firmware_bridge.

    BridgeError
    ├── FrameError            a frame cannot be decoded (carries offset and field)
    │   └── ChecksumError     a frame's checksum or CRC does not match
    ├── ProfileError          a device profile is malformed (carries file and key)
    └── TransportError        the bus or socket failed (timeout, closed, refused)

Every error says where it went wrong: the byte offset and field for frames,
the file and key for profiles, the endpoint for transports.
"""

from __future__ import annotations


class BridgeError(Exception):
    """Base of every firmware_bridge error."""


class FrameError(BridgeError):
    """A frame could not be decoded.

    ``offset`` is the byte offset into the frame where decoding stopped and
    ``field`` names the field expected there.
    """

    def __init__(self, protocol: str, message: str, *, offset: int | None = None,
                 field: str | None = None) -> None:
        self.protocol = protocol
        self.offset = offset
        self.field = field
        where = ""
        if offset is not None:
            where = f" at byte {offset}" + (f" ({field})" if field else "")
        elif field:
            where = f" ({field})"
        super().__init__(f"{protocol}: {message}{where}")


class ChecksumError(FrameError):
    """A checksum or CRC did not match."""


class ProfileError(BridgeError):
    """A device profile file is invalid; the message names file and key."""


class TransportError(BridgeError):
    """A transport failed: timeout, refused connection, closed port."""
