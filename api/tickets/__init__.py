"""Tickets: damage reports and requests from resident to manager to provider and back.

The process follows the end-to-end model of DIN SPEC 77008 (resident → property
manager → service provider).  Services take an explicit :class:`~api.tickets.actor.Actor`
so they do not depend on how the caller was authenticated.
"""
