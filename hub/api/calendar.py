"""``/v1/calendar/years``: the working-day calendar's years, and importing one (admin)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ValidationError

from core.calendar import parse_year_file
from core.errors import InputError
from hub.api.jsonio import read_json, respond
from hub.api.problems import Problem
from hub.keys import CALENDAR, CALENDAR_SYNC, CLOCK, POOL
from hub.store.calendars import store_year

routes = web.RouteTableDef()


class YearFileIn(BaseModel):
    """The body of ``PUT /v1/calendar/years/{year}``: the year file, TOML text."""

    file: str


@routes.get("/v1/calendar/years")
async def list_years(request: web.Request) -> web.Response:
    calendar = request.app[CALENDAR]
    return respond(
        {
            "items": [
                {
                    "year": y,
                    "provisional": calendar.year(y).provisional,
                    "source": calendar.year(y).source,
                }
                for y in calendar.years
            ],
            "revision": calendar.revision,
        }
    )


@routes.put("/v1/calendar/years/{year}")
async def put_year(request: web.Request) -> web.Response:
    """Import the State Council's notice for a year: ``{"file": "<year file, TOML>"}``.

    Every hub process serves it within seconds; the deadlines, timers and applicants
    it touches are updated once, before this answers when this process does that work.
    """
    try:
        body = YearFileIn.model_validate(await read_json(request))
    except ValidationError:
        raise Problem(
            422,
            'send {"file": "<the year file as TOML text>"}',
            errors=[{"field": "file", "message": "must be a string"}],
        ) from None
    try:
        year = parse_year_file(body.file)
    except InputError as exc:
        raise Problem(422, str(exc), errors=[{"field": "file", "message": str(exc)}]) from None
    if request.match_info["year"] != str(year.year):
        raise Problem(
            422,
            f"the file is for {year.year}, not {request.match_info['year']}",
            errors=[{"field": "file", "message": "year does not match the path"}],
        )
    app = request.app
    async with app[POOL].acquire() as conn:
        revision = await store_year(conn, year, by="api", now=app[CLOCK].now())
    result = await app[CALENDAR_SYNC].on_change()
    return respond(
        {
            "year": year.year,
            "revision": revision,
            "replanned": result.as_json() if result is not None else None,
        }
    )
