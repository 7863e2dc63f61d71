"""Errors raised by billing_core.

    BillingError
    ├── ConsumptionError       readings cannot give a consumption (missing edge, counter went back)
    ├── AllocationError        a cost cannot be split (no key weight, negative common use)
    ├── ApportionInputError    an input file is wrong, names the JSON path (apportion_input)
    ├── RuleTableError         a legal rule table is missing or malformed (rule_tables)
    └── RenderError            a bill cannot be rendered, e.g. no CJK font (bill_render)

Messages name the unit, meter or cost item and the rule at fault.
"""

from __future__ import annotations


class BillingError(Exception):
    """Base of every billing_core error."""


class ConsumptionError(BillingError):
    """Readings do not yield a consumption for a meter and period."""


class AllocationError(BillingError):
    """A cost item cannot be apportioned over the units."""
