"""Server side: database schema and migrations, services, FastAPI routes, portal.

Uses billing_core for every computation; never imports gateway.
"""
