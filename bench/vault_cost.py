"""What sealing personal data costs per value, against the per-event budget of ingest.

    python bench/vault_cost.py                 # --count 20000 --repeats 5

Measures, on this machine and in one run, SM4-GCM seal and open of a mobile
number and of a 70-character SMS body, the HMAC-SM3 blind index of a number,
and as the baseline one ``json.dumps`` of a typical event payload (work the hub
already does per event). The figure to read is µs per operation next to the
ingest budget: at the measured 5.5k events/s an event has ≈ 180 µs, so sealing
the applicant's four contact fields and indexing the mobile should stay under
the issue's 10% (≈ 18 µs). No database is used (``--database-url`` is accepted
and ignored, like the other scripts' options).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable

import _common

from hub.privacy.vault import DataKey, Vault

MOBILE = "13812345678"
BODY = (
    "【某市政务服务中心】您的办件S-2026-000123已受理，承诺2026年3月16日前办结，查询进度请点击链接。"
)
PAYLOAD = {
    "event_id": "e-000123",
    "type": "case.accepted",
    "case_no": "S-2026-000123",
    "occurred_at": "2026-03-02T10:00:00+08:00",
    "matter_code": "M-001",
    "department": "D-01",
    "applicant": {"name": "张三", "mobile": MOBILE, "email": "zhang@example.cn"},
    "promised_working_days": 10,
}


def per_op_us(
    operation: Callable[[], object], count: int, repeats: int
) -> tuple[float, float, float]:
    """Median, min and max µs per call over ``repeats`` rounds of ``count`` calls."""
    rounds = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(count):
            operation()
        rounds.append((time.perf_counter() - start) / count * 1e6)
    return statistics.median(rounds), min(rounds), max(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--database-url", default="", help="ignored: no database is used")
    parser.add_argument("--plot", default="", help="PNG path; 'none' for no plot")
    args = parser.parse_args()
    vault = Vault(DataKey.from_material(os.urandom(32)))
    sealed_mobile = vault.seal(MOBILE, field="cases.applicant")
    sealed_body = vault.seal(BODY, field="messages.body")
    rows = [
        ("baseline: json.dumps of one event payload", lambda: json.dumps(PAYLOAD)),
        ("seal a mobile (SM4-GCM)", lambda: vault.seal(MOBILE, field="cases.applicant")),
        ("open a mobile", lambda: vault.open(sealed_mobile, field="cases.applicant")),
        ("blind index of a mobile (HMAC-SM3)", lambda: vault.blind_index(MOBILE)),
        ("seal an SMS body", lambda: vault.seal(BODY, field="messages.body")),
        ("open an SMS body", lambda: vault.open(sealed_body, field="messages.body")),
    ]
    results = [(label, *per_op_us(op, args.count, args.repeats)) for label, op in rows]
    base = results[0][1]
    head = f"| operation | µs per call (median of {args.repeats}) | runs (min–max) | ratio |"
    print(head)
    print("|---|---:|---:|---:|")
    for label, median, low, high in results:
        print(f"| {label} | {median:.2f} | {low:.2f}–{high:.2f} | {median / base:.2f} |")
    apart = 4 * results[1][1] + results[3][1]
    together = results[4][1] + results[3][1]  # the applicant object sealed as one value
    print(f"\nper event, 4 fields sealed apart + 1 index: {apart:.1f} µs")
    print(f"per event, the applicant sealed as one value + 1 index: {together:.1f} µs")
    _common.bar_plot(
        _common.plot_path(args.plot, "vault_cost.png"),
        "Sealing personal data: µs per call",
        [label.split(" (")[0].removeprefix("baseline: ") for label, *_ in results],
        [median for _, median, _, _ in results],
        ylabel="µs per call",
    )


if __name__ == "__main__":
    main()
