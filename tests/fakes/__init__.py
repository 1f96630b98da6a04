"""Loopback fakes of the providers Cuiban talks to, at the far side of the wire.

Each fake is a real HTTP (aiohttp.web) or SMTP (aiosmtpd) server on 127.0.0.1
that checks what the real provider checks — signatures recomputed here,
independently of ``channels/``; required fields; token expiry — and fails on
demand: ``fake.fail("unavailable" | "hang" | "throttle" | "reject_recipient")``
queues one failure for the next request.
"""
