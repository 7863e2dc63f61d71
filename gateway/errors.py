"""Errors raised by the gateway runtime.

    GatewayError
    ├── PollError              one device could not be read in one cycle (counted, polling goes on)
    ├── UplinkError            a batch could not be delivered (kept in the buffer, retried)
    │   └── BatchRejectedError the server refused the batch's content (gateway.mqtt_uplink);
    │                          re-sent reading by reading, refused readings set aside
    └── PayloadError           an MQTT batch payload is malformed, names the JSON path
                               (gateway.mqtt_payload; also a ValueError)
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base of every gateway error."""


class PollError(GatewayError):
    """Reading one device failed in one cycle; the message names the device."""


class UplinkError(GatewayError):
    """Delivering a batch of readings failed; nothing acknowledged is lost."""
