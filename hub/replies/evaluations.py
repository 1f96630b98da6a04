"""An applicant's 1–5 evaluation of a closed case, by SMS reply or on the WAP page.

A rating of 1 or 2 opens a rectification (差评整改) in the same transaction. The
comment is stored sealed (``evaluations.comment``); rows from before stay readable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import asyncpg

from hub.notices.recipients import Routing
from hub.privacy.fields import EVALUATIONS_COMMENT
from hub.rectifications.service import open_for_rating
from hub.store.queries import Q

RATING_WORDS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
Source = Literal["sms", "wap"]


async def rate_case(
    conn: asyncpg.Connection,
    case_no: str,
    rating: int,
    *,
    comment: str | None,
    source: Source,
    now: datetime,
    routing: Routing,
) -> bool:
    """Store the rating; False if the case is unknown or already rated (the first one stands)."""
    if rating not in RATING_WORDS:
        raise ValueError(f"a rating is 1 to 5, not {rating!r}")
    async with conn.transaction():
        sealed = routing.vault.seal_optional(comment, field=EVALUATIONS_COMMENT)
        rated = await conn.fetchval(Q["insert_evaluation"], case_no, rating, sealed, source, now)
        if rated is not None:
            # A prompt still waiting (the applicant rated first) is no longer needed.
            await conn.execute(Q["cancel_evaluation_prompt"], case_no)
            await open_for_rating(
                conn,
                routing,
                case_no=case_no,
                rating=rating,
                comment=comment,
                source=source,
                now=now,
            )
    return rated is not None
