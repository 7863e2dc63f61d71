"""Invoices, credit notes and recurring charges, booked into the ledger (issue 9)."""
