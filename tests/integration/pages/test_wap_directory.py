"""Pages show people and departments as the directory names them, and a deputy's routed work."""

from __future__ import annotations

from aiohttp import web

from tests.conftest import Api
from tests.integration import events as ev
from tests.integration import wap_data as data
from tests.integration.planning.test_planner import at, put_li_away, setup_department


async def test_a_node_given_by_bare_department_code_shows_the_registered_name(
    api: Api, app: web.Application
) -> None:
    """node.started with department "ZJJ": API and WAP show 住房和城乡建设局, not null or ZJJ."""
    await setup_department(api)
    await api.put("/v1/departments/ZJJ", {"name": "住房和城乡建设局"})
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T10:00").isoformat()})
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted("N-1", at("2026-03-02T10:00").isoformat()),
                ev.node_started("N-1", "co", at("2026-03-02T10:00").isoformat(), department="ZJJ")
                | {"name": "协办意见"},
            ]
        },
    )
    _, case = await api.get("/v1/cases/N-1")
    assert case["nodes"][0]["department"] == {"code": "ZJJ", "name": "住房和城乡建设局"}
    resp = await api.client.get(data.case_link(app, "N-1"))
    page = await resp.text()
    assert "协办意见（住房和城乡建设局）" in page
    assert "（ZJJ）" not in page


async def test_the_deputys_inbox_lists_the_nodes_routed_to_them(
    api: Api, app: web.Application
) -> None:
    """李 is away with 赵 as deputy: 赵's inbox shows 李's open node, marked as covering."""
    await setup_department(api)
    await put_li_away(api)
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-02T10:00").isoformat()})
    await api.post(
        "/v1/events",
        {
            "events": [
                ev.accepted("W-1", at("2026-03-02T10:00").isoformat()),
                ev.node_started("W-1", "n1", at("2026-03-02T10:00").isoformat()),
            ]
        },
    )
    resp = await api.client.get(data.inbox_link(app, "p-dep"))
    page = await resp.text()
    assert "W-1" in page and "代李四" in page
    assert "暂无待办环节" not in page
    # After the absence the node is 李's alone again.
    await api.post("/v1/test-clock/advance", {"to": at("2026-03-20T10:00").isoformat()})
    page = await (await api.client.get(data.inbox_link(app, "p-dep"))).text()
    assert "W-1" not in page.split('id="notices"')[0]
