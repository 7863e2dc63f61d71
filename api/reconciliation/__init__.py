"""Matching bank payments to invoices, review queue, anomalies (issue 9)."""
