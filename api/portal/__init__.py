"""The tenant portal: server-rendered pages in de/en/zh/nb (issue 12)."""
