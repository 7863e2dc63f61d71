"""Double-entry, append-only ledger with a hash chain per ledger (issue 9)."""
