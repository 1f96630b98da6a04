"""Provider callbacks (being built): delivery receipts and replies."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
