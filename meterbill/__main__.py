"""``python -m meterbill`` runs the CLI."""

from meterbill.cli import main

main()
