"""The loopback fake Aliyun (signatures checked) in a process of its own, for the benchmarks.

    python bench/_fake_server.py            # prints "port N" once it listens

Besides Aliyun's ``POST /`` it serves ``POST /json`` (a sink for Apprise's
``json://`` service) and ``GET /_stats`` (accepted sends and distinct OutIds, so a
bench can count duplicates), and ``POST /_reset``. Running apart from the
client keeps the two from sharing one event loop: each gets its own core.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web

from tests.fakes.aliyun import FakeAliyun

KEY_ID, SECRET, SIGN = "bench-key", "bench-secret", "政务服务"
TEMPLATE = "SMS_100001"


class BenchAliyun(FakeAliyun):
    def __init__(self) -> None:
        super().__init__(key_id=KEY_ID, secret=SECRET, sign_names={SIGN}, templates={TEMPLATE})
        self.json_posts = 0

    def routes(self) -> list[web.RouteDef]:
        return [
            *super().routes(),
            web.post("/json", self.sink),
            web.get("/_stats", self.stats),
            web.post("/_reset", self.reset),
        ]

    async def sink(self, request: web.Request) -> web.Response:
        await request.read()
        self.json_posts += 1
        return web.Response(text="ok")

    async def stats(self, _: web.Request) -> web.Response:
        out_ids = [r.get("OutId") for r in self.requests]
        return web.json_response(
            {"accepted": len(out_ids), "distinct": len(set(out_ids)), "json": self.json_posts}
        )

    async def reset(self, _: web.Request) -> web.Response:
        self.requests.clear()
        self.nonces.clear()
        self.json_posts = 0
        return web.Response(text="ok")


async def main() -> None:
    fake = await BenchAliyun().start()
    print("port", fake.url.rsplit(":", 1)[1], flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    if "--uvloop" in sys.argv:
        import uvloop

        uvloop.install()
    asyncio.run(main())
