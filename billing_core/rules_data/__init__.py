"""Legal rule tables shipped with the package (byte-identical copies of the reviewed
reference CSVs; see ``billing_core.rule_tables``).  A package so that
``importlib.resources`` finds them in an installed wheel as well as in the tree."""
