"""Edge runtime: scheduler, per-bus coordinators, store-and-forward, uplinks.

Uses firmware_bridge for every byte on a bus; reaches the server only through
the ``readings`` write contract (``gateway.readings_writer``) or MQTT, never by
importing ``api``.
"""
