"""Errors raised by the gateway runtime.

    GatewayError
    ├── PollError        one device could not be read in one cycle (counted, polling goes on)
    └── UplinkError      a batch could not be delivered (kept in the buffer, retried)
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base of every gateway error."""


class PollError(GatewayError):
    """Reading one device failed in one cycle; the message names the device."""


class UplinkError(GatewayError):
    """Delivering a batch of readings failed; nothing acknowledged is lost."""
