"""Pure computation: consumption, apportionment, tariffs, bills, kernels.

Arrays, Decimals and dataclasses in; the same out.  No database, no web.
"""
