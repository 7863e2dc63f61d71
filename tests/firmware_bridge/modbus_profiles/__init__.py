"""Modbus device profiles: codec, loader, planner, CLI."""
