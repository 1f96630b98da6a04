"""What ingest stores: the body as the approval system sent it, replayed to the same case."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import asyncpg
from aiohttp import web

from core.events import EVENT_ADAPTER, Event
from hub.keys import CALENDAR, CLOCK, PLANNER, POOL, RULES, VAULT
from hub.privacy.fields import EVENTS_APPLICANT
from hub.privacy.people import opened_person
from hub.privacy.vault import Vault
from hub.store import ingest as store
from hub.store.queries import Q
from tests.conftest import Api
from tests.integration import events as ev

MON = "2026-03-02T10:00:00+08:00"


async def test_the_stored_event_is_the_body_as_sent(api: Api, database_url: str) -> None:
    """No re-encoded model: a bare department code stays bare, absent options stay absent;
    only the assignee's contacts are left to the people directory."""
    started = {**ev.node_started("S-1", "n1", MON), "department": "SCJG"}
    assert (await api.post("/v1/events", started))[0] == 202
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchval(
            "SELECT payload FROM events WHERE event_id = $1", started["event_id"]
        )
        contact = await conn.fetchval("SELECT mobile FROM people WHERE person_id = 'p-li'")
    finally:
        await conn.close()
    assert json.loads(stored) == {**started, "assignee": {"id": "p-li", "name": "李四"}}
    assert contact is not None  # kept once, in people
    _, case = await api.get("/v1/cases/S-1")
    assert case["nodes"][0]["department"]["code"] == "SCJG"


def _history(case_no: str) -> list[dict[str, object]]:
    return [
        ev.accepted(case_no, "2026-03-02T10:00:00+08:00", limit=20),
        ev.node_started(case_no, "n1", "2026-03-02T11:00:00+08:00"),
        ev.simple("case.suspended", case_no, "2026-03-03T10:00:00+08:00", reason="testing"),
        ev.simple("case.resumed", case_no, "2026-03-09T10:00:00+08:00"),
        ev.simple(
            "node.completed", case_no, "2026-03-10T10:00:00+08:00", node_id="n1", outcome="pass"
        ),
        ev.node_started(case_no, "n2", "2026-03-10T11:00:00+08:00"),
    ]


def _comparable(case: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in case.items() if k not in ("case_no", "query_code", "links")}


async def test_one_event_at_a_time_equals_all_at_once(api: Api, database_url: str) -> None:
    """A case fed event by event (its stored fold continued) reads as one fed in one batch,
    and an event that happened earlier, arriving late, is replayed into its place."""
    for event in _history("F-1"):
        assert (await api.post("/v1/events", event))[0] == 202
    assert (await api.post("/v1/events", {"events": _history("F-2")}))[0] == 202
    _, one_by_one = await api.get("/v1/cases/F-1")
    _, batch = await api.get("/v1/cases/F-2")
    assert _comparable(one_by_one) == _comparable(batch)
    # 20 working days from 2 March end 30 March; suspended 3–8 March moves it 4 working days
    assert one_by_one["due_date"] == "2026-04-03"

    def extension(case_no: str) -> dict[str, object]:
        limit = {"value": 5, "unit": "working_days"}
        at = "2026-03-04T10:00:00+08:00"
        return ev.simple("case.extended", case_no, at, limit=limit, approved_by="局长")

    assert (await api.post("/v1/events", extension("F-1")))[0] == 202
    assert (await api.post("/v1/events", {"events": [*_history("F-3"), extension("F-3")]}))[
        0
    ] == 202
    _, extended = await api.get("/v1/cases/F-1")
    _, reference = await api.get("/v1/cases/F-3")
    assert _comparable(extended) == _comparable(reference)
    assert extended["due_date"] == "2026-04-13"  # 5 more working days, over 清明 (4–6 April)
    # A suspension that happened inside the first one changes nothing once in its place;
    # appended at the end instead, it would leave the case suspended.
    inner = ev.simple("case.suspended", "F-1", "2026-03-05T10:00:00+08:00", reason="testing")
    assert (await api.post("/v1/events", inner))[0] == 202
    _, still = await api.get("/v1/cases/F-1")
    assert still["suspended"] is False and still["due_date"] == "2026-04-13"
    conn = await asyncpg.connect(database_url)
    try:
        fold = json.loads(await conn.fetchval("SELECT fold FROM case_folds WHERE case_no = 'F-1'"))
        await conn.execute("DELETE FROM case_folds")  # derived data: losing it costs a replay
    finally:
        await conn.close()
    assert fold["last_at"] == "2026-03-10T11:00:00+08:00"
    assert fold["extensions"] == [{"value": 5, "unit": "working_days"}]
    closed = ev.simple("case.closed", "F-1", "2026-04-20T10:00:00+08:00")
    assert (await api.post("/v1/events", closed))[0] == 202
    _, after = await api.get("/v1/cases/F-1")
    assert after["status"] == "closed" and after["due_date"] == "2026-04-13"


CLEAR = ("张三丰", "13812345678", "13900001111")


async def _clear_text_in(conn: asyncpg.Connection, table: str, column: str) -> list[str]:
    rows = await conn.fetch(f"SELECT {column}::text AS value FROM {table}")  # noqa: S608 -- test's own names
    return [r["value"] for r in rows if any(word in r["value"] for word in CLEAR)]


async def test_events_and_folds_hold_no_applicant_or_contact_in_clear(
    api: Api, database_url: str
) -> None:
    """The stored events and folds hold the applicant sealed and no assignee's number,
    and a replay from the stored events still finds the applicant."""
    assert (await api.post("/v1/events", {"events": _history("P-1")}))[0] == 202
    conn = await asyncpg.connect(database_url)
    try:
        assert await _clear_text_in(conn, "events", "events") == []
        assert await _clear_text_in(conn, "case_folds", "case_folds") == []
        sealed = await conn.fetchval(
            "SELECT payload ->> 'applicant' FROM events WHERE type = 'case.accepted'"
        )
    finally:
        await conn.close()
    assert sealed.startswith("sm4:")
    # A replay (no fold) opens the sealed applicant of the stored event.
    late = ev.simple("case.suspended", "P-1", "2026-03-05T10:00:00+08:00", reason="testing")
    assert (await api.post("/v1/events", late))[0] == 202
    _, case = await api.get("/v1/cases/P-1")
    assert case["applicant"] == {"name": "张*", "mobile": "138****5678"}


async def test_events_stored_before_sealing_still_replay(api: Api, database_url: str) -> None:
    """A payload and a fold written in clear before sealing are read as they are."""
    assert (await api.post("/v1/events", {"events": _history("L-1")[:2]}))[0] == 202
    conn = await asyncpg.connect(database_url)
    try:
        # As a hub before sealing stored them: the applicant in clear, no fold.
        await conn.execute(
            "UPDATE events SET payload = jsonb_set(payload, '{applicant}', $1::jsonb)"
            " WHERE case_no = 'L-1' AND type = 'case.accepted'",
            json.dumps({"name": "王五", "mobile": "13700001234"}),
        )
        await conn.execute("DELETE FROM case_folds")
    finally:
        await conn.close()
    completed = ev.simple(
        "node.completed", "L-1", "2026-03-02T12:00:00+08:00", node_id="n1", outcome="pass"
    )
    assert (await api.post("/v1/events", completed))[0] == 202
    _, case = await api.get("/v1/cases/L-1")
    assert case["applicant"] == {"name": "王*", "mobile": "137****1234"}
    assert case["nodes"][0]["status"] == "completed"


async def test_a_batch_tells_each_assignee_once_with_what_its_events_say(
    api: Api, app: web.Application, database_url: str
) -> None:
    """Several node.started of one person in a batch leave what one upsert per event would:
    a later value wins, a missing one erases nothing (the contacts stored sealed)."""
    first = ev.node_started("P-1", "n1", MON, assignee="p-zhao")
    later = {
        **ev.node_started("P-2", "n1", MON, assignee="p-zhao"),
        "assignee": {"id": "p-zhao", "name": "赵六", "email": "zhao@example.gov.cn"},
    }
    assert (await api.post("/v1/events", {"events": [first, later]}))[0] == 202
    conn = await asyncpg.connect(database_url)
    try:
        person = await conn.fetchrow(
            "SELECT name, mobile, email FROM people WHERE person_id = 'p-zhao'"
        )
    finally:
        await conn.close()
    opened = opened_person(app[VAULT], person)
    assert opened == {"name": "赵六", "mobile": "13900001111", "email": "zhao@example.gov.cn"}
    assert Vault.is_sealed(person["mobile"]) and Vault.is_sealed(person["email"])


async def test_the_case_row_holds_the_applicant_sealed_and_a_blind_index(
    api: Api, database_url: str
) -> None:
    """cases.applicant is one sealed value with the number's blind index beside it; the API
    still shows the masked name and number, and a row stored in clear before sealing too."""
    assert (await api.post("/v1/events", {"events": _history("C-1")[:2]}))[0] == 202
    assert (await api.post("/v1/events", {"events": _history("C-2")[:2]}))[0] == 202
    conn = await asyncpg.connect(database_url)
    try:
        assert await _clear_text_in(conn, "cases", "cases") == []
        rows = await conn.fetch(
            "SELECT applicant #>> '{}' AS sealed, applicant_mobile_index FROM cases"
        )
        # As a hub before sealing stored it: the object in clear, no index.
        await conn.execute(
            "UPDATE cases SET applicant = $1::jsonb, applicant_mobile_index = NULL"
            " WHERE case_no = 'C-2'",
            json.dumps({"name": "王五", "mobile": "13700001234"}),
        )
    finally:
        await conn.close()
    assert all(r["sealed"].startswith("sm4:") for r in rows)
    assert len({bytes(r["applicant_mobile_index"]) for r in rows}) == 1  # one number, one index
    _, sealed = await api.get("/v1/cases/C-1")
    _, clear = await api.get("/v1/cases/C-2")
    assert sealed["applicant"] == {"name": "张*", "mobile": "138****5678"}
    assert clear["applicant"] == {"name": "王*", "mobile": "137****1234"}


async def test_one_sealed_applicant_serves_the_event_the_case_and_its_fold(
    api: Api, app: web.Application, database_url: str
) -> None:
    """A batch seals each applicant once: its event, the case row and the stored fold hold
    one sealed text; an event sealed the earlier way (as sent, as ``events.applicant``)
    still replays."""
    assert (await api.post("/v1/events", {"events": _history("O-1")[:2]}))[0] == 202
    conn = await asyncpg.connect(database_url)
    try:
        texts = await conn.fetchrow(
            "SELECT e.payload ->> 'applicant' AS event, c.applicant #>> '{}' AS case_row,"
            "       f.fold #>> '{accepted,applicant}' AS fold"
            "  FROM events e JOIN cases c USING (case_no) JOIN case_folds f USING (case_no)"
            " WHERE e.type = 'case.accepted' AND e.case_no = 'O-1'"
        )
        # As a hub before this stored it: the applicant as sent, sealed as events.applicant.
        earlier = app[VAULT].seal(
            json.dumps({"name": "王五", "mobile": "137 0000 1234"}), field=EVENTS_APPLICANT
        )
        await conn.execute(
            "UPDATE events SET payload = jsonb_set(payload, '{applicant}', to_jsonb($1::text))"
            " WHERE case_no = 'O-1' AND type = 'case.accepted'",
            earlier,
        )
        await conn.execute("DELETE FROM case_folds")
    finally:
        await conn.close()
    assert texts["event"].startswith("sm4:")
    assert texts["event"] == texts["case_row"] == texts["fold"]
    late = ev.simple("case.suspended", "O-1", "2026-03-02T10:30:00+08:00", reason="testing")
    assert (await api.post("/v1/events", late))[0] == 202
    _, case = await api.get("/v1/cases/O-1")
    assert case["applicant"] == {"name": "王*", "mobile": "137****1234"}


async def test_the_planner_is_handed_what_it_would_read_back(
    api: Api, app: web.Application
) -> None:
    """The cases and nodes ingest hands the planner equal, column by column, what
    cases_for_planning and nodes_for_planning read once the batch is stored: for a new
    case, one continued, one replayed for a late event, and a rated one."""
    handed: list[store.Projected] = []

    async def planner(
        conn: asyncpg.Connection,
        case_nos: Sequence[str],
        events: Sequence[Event],
        *,
        now: datetime,
        projected: store.Projected,
    ) -> None:
        handed.append(projected)
        await app[PLANNER].after_ingest(conn, case_nos, events, now=now, projected=projected)

    async def send(events: list[dict[str, object]]) -> None:
        items = [store.IncomingEvent(raw=e, event=EVENT_ADAPTER.validate_python(e)) for e in events]
        async with app[POOL].acquire() as conn:
            await store.ingest(
                conn,
                items,
                now=app[CLOCK].now(),
                calendar=app[CALENDAR],
                rules_for=app[RULES],
                vault=app[VAULT],
                after=planner,
            )
            case_nos = [c["case_no"] for c in handed[-1].cases]
            cases = await conn.fetch(Q["cases_for_planning"], case_nos)
            nodes = await conn.fetch(Q["nodes_for_planning"], case_nos)
        mine = {c["case_no"]: c for c in handed[-1].cases}
        assert len(cases) == len(mine)
        for row in map(dict, cases):
            assert {k: mine[row["case_no"]][k] for k in row} == row
        my_nodes = {(n["case_no"], n["node_id"]): n for ns in handed[-1].nodes.values() for n in ns}
        assert len(nodes) == len(my_nodes)
        for row in map(dict, nodes):
            assert {k: my_nodes[row["case_no"], row["node_id"]][k] for k in row} == row

    history = _history("H-1")
    await send(history[:2])  # new
    await send(history[2:4])  # continued
    await send([ev.simple("case.suspended", "H-1", "2026-03-02T12:00:00+08:00", reason="t")])
    async with app[POOL].acquire() as conn:
        await conn.execute("UPDATE cases SET rating = 4 WHERE case_no = 'H-1'")
    await send(history[4:])  # replayed (its fold continues after the late one), rated
    assert handed[-1].cases[0]["rating"] == 4
