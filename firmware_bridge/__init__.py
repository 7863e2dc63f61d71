"""Protocols to meters: codecs (bytes <-> dataclasses), transports, device profiles.

This package imports nothing else of meterbill; the gateway and the simulators
build on it.
"""
