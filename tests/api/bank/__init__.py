"""Bank statement parsing tests (issue 9)."""
