"""The dispatcher's lanes: a few workers per channel instead of a task per message."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.delivery.lanes import Lanes, work_through


class Recorder:
    """Work that records what ran, how many of a lane ran at once, and can be held."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []
        self.done: list[str] = []
        self.running: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.gates: dict[str, asyncio.Event] = {}

    async def work(self, item: str) -> None:
        lane = item.split(":")[0]
        self.started.append(item)
        self.running[lane] += 1
        self.most[lane] = max(self.most[lane], self.running[lane])
        try:
            gate = self.gates.get(item)
            if gate is not None:
                await gate.wait()
            else:
                await asyncio.sleep(0)
            if item.endswith("!"):
                raise RuntimeError(f"{item} broke")
            self.finished.append(item)
        finally:
            self.running[lane] -= 1


def lanes_for(recorder: Recorder, widths: dict[str, int]) -> Lanes[str]:
    return Lanes(
        name="test", work=recorder.work, width=widths.__getitem__, done=recorder.done.append
    )


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_lane_works_its_items_in_order_at_most_width_at_a_time() -> None:
    """Five SMS with width 2 start in the order put, never two more at once; each done once."""
    recorder = Recorder()
    lanes = lanes_for(recorder, {"sms": 2, "email": 1})
    items = [f"sms:{i}" for i in range(5)] + ["email:0"]
    for item in items:
        lanes.put(item.split(":")[0], item)
    await _settle()
    assert [i for i in recorder.started if i.startswith("sms")] == items[:5]
    assert recorder.most == Counter({"sms": 2, "email": 1})
    assert sorted(recorder.done) == sorted(items)
    await lanes.stop(grace=1, started=lambda _: True, at_provider=lambda _: True)


async def test_a_failing_item_does_not_stop_its_lane() -> None:
    """An item whose work raises is logged and done; the lane's next item still goes."""
    recorder = Recorder()
    lanes = lanes_for(recorder, {"sms": 1})
    for item in ("sms:1!", "sms:2"):
        lanes.put("sms", item)
    await _settle()
    assert recorder.finished == ["sms:2"]
    assert recorder.done == ["sms:1!", "sms:2"]
    await lanes.stop(grace=1, started=lambda _: True, at_provider=lambda _: True)


async def test_stop_hands_back_the_queue_cancels_the_unstarted_and_waits_for_the_rest() -> None:
    """On stop: queued items come back unworked, one not yet started is cancelled, one
    writing its outcome finishes, one still at the provider after the grace is cancelled."""
    recorder = Recorder()
    lanes = lanes_for(recorder, {"sms": 3})
    for item in ("sms:waiting", "sms:finishing", "sms:sending", "sms:queued"):
        recorder.gates[item] = asyncio.Event()
        lanes.put("sms", item)
    await _settle()
    assert recorder.started == ["sms:waiting", "sms:finishing", "sms:sending"]
    phase = {"sms:waiting": "waiting", "sms:finishing": "finishing", "sms:sending": "sending"}
    asyncio.get_running_loop().call_later(0.05, recorder.gates["sms:finishing"].set)
    await lanes.stop(
        grace=0.2,
        started=lambda item: phase[item] != "waiting",
        at_provider=lambda item: phase[item] == "sending",
    )
    assert recorder.finished == ["sms:finishing"]
    assert sorted(recorder.done) == ["sms:finishing", "sms:queued", "sms:sending", "sms:waiting"]
    assert "sms:queued" not in recorder.started


@settings(max_examples=60, deadline=None)
@given(
    items=st.lists(
        st.tuples(st.sampled_from(["sms", "email", "wecom"]), st.booleans()), max_size=40
    ),
    widths=st.fixed_dictionaries({k: st.integers(1, 5) for k in ("sms", "email", "wecom")}),
)
def test_a_batch_is_worked_once_each_within_its_widths(
    items: list[tuple[str, bool]], widths: dict[str, int]
) -> None:
    """work_through: every item worked exactly once, no lane ever over its width."""
    recorder = Recorder()
    names = [f"{lane}:{i}{'!' if fails else ''}" for i, (lane, fails) in enumerate(items)]

    async def work(item: str) -> None:
        # The dispatcher's deliver never raises for a send failure.
        with contextlib.suppress(RuntimeError):
            await recorder.work(item)

    asyncio.run(
        work_through(names, lane=lambda i: i.split(":")[0], width=widths.__getitem__, work=work)
    )
    assert sorted(recorder.started) == sorted(names)
    assert all(recorder.most[lane] <= widths[lane] for lane in recorder.most)
