"""Dunning and collection: levels, fees, default interest, late fees, GiroCode, SEPA files."""
