"""Simulated meters and buildings that speak real protocol bytes.

Used by the tests and the demo in place of hardware; they encode with
firmware_bridge's codecs so the gateway's real transports and decoders run.
"""
