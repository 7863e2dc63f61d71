"""Composition root: the ``meterbill`` command line and the demo.

The five packages keep their arrows (firmware_bridge <- gateway, billing_core <-
api, firmware_bridge <- simulators); only this package wires them together, so
the CLI can offer ``gateway run`` and ``api serve`` in one command without
``api`` importing ``gateway``.
"""

__version__ = "0.1.0"
