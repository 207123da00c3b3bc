"""The demo of scheduled posts and comments (part of ``make demo``, a few seconds).

On the ``inbox-demo`` tenant: a local server speaking Instagram's Graph API
(:mod:`growthops.connectors.instagram.local_server`) stands in for Instagram; the tenant is on
the ``starter`` plan; a daily post at 09:00 (the tenant's time zone) is scheduled, and its
first occurrence is published through the container → ``media_publish`` flow (the job run at
the occurrence's time); five comments (one a reply in a thread) arrive, the polling job stores
and triages them through the comment seam (without an AI every comment goes to a person), and
a person answers one publicly and one privately. Prints the post with its runs, the comments
and the credits.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from growthops.core.db import Database
from growthops.core.i18n import _

TOKEN = "IGQdemo-local-token"
COMMENTS = ("Magnifique, c'est dispo en 38 ?", "Love the colours!", "Ma commande 1042 n'est "
            "toujours pas arrivée…", "Prix ?")


def run(db: Database, console: Console, *, tenant_id: UUID | str, ig_account: str,
        lang: str = "en") -> dict[str, Any]:
    """Run the posts and comments demo on the tenant's Instagram account; return counts."""
    from growthops.connectors.instagram.local_server import LocalInstagram
    from growthops.connectors.instagram.publishing import GraphPublisher
    from growthops.inbox import comments, credits, posts
    from growthops.inbox.publishing import publish_due

    tid = str(tenant_id)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    # ids unique across demo runs (comments and media are stored by their platform ids)
    first = time.time_ns() // 10**6 % 10**8 * 100
    with LocalInstagram(TOKEN, page_size=3, first_id=first) as server:
        def factory(acc: dict[str, Any]) -> GraphPublisher:
            return GraphPublisher(acc["account_id"], TOKEN, base_url=server.url, version="v21.0",
                                  wait_max=0.2)

        with db.tenant_tx(tid) as conn:
            credits.set_plan(conn, tenant_id=tid, plan="starter", now=now)
            credits.monthly_reset(conn, tenant_id=tid, now=now)
            sa = conn.execute("select social_account_id from inbox.social_accounts where tenant_id = %s "
                              "and platform = 'instagram' and account_id = %s",
                              [tid, ig_account]).fetchone()["social_account_id"]
            tz = conn.execute("select time_zone from core.tenants where tenant_id = %s",
                              [tid]).fetchone()["time_zone"]
            local = (now + timedelta(days=1)).astimezone(ZoneInfo(tz)).replace(
                hour=9, minute=0, tzinfo=None)
            post = posts.create_post(
                conn, tenant_id=tid, social_account_id=sa, created_by="demo@agency.example",
                text="Nouvelle collection printemps ☀️ #printemps #mode", local_at=local,
                rrule="FREQ=DAILY;COUNT=7", now=now,
                media=[{"type": "image", "url": "https://cdn.example.org/printemps.jpg"}])
        at = post["occurrence_at"]
        published = publish_due(db, tenant_id=tid, now=at, transport_factory=factory)
        media = next(iter(server.media))
        ids = [server.add_comment(media, text, username=f"client{k}", user_id=f"90{k}",
                                  at=at + timedelta(minutes=5 + k))
               for k, text in enumerate(COMMENTS)]
        server.add_comment(media, "Pareil, je veux savoir !", username="client9", user_id="909",
                           parent_id=ids[0], at=at + timedelta(minutes=12))
        polled = comments.poll(db, tenant_id=tid, now=at + timedelta(minutes=15),
                               transport_factory=factory)
        with db.tenant_tx(tid) as conn:
            rows = {r["platform_comment_id"]: r for r in comments.list_comments(
                conn, tenant_id=tid, limit=50)[0]}
            comments.approve(conn, tenant_id=tid, comment_id=rows[ids[0]]["comment_id"],
                             by="demo@agency.example", text="Oui, du 36 au 42 !")
            comments.approve(conn, tenant_id=tid, comment_id=rows[ids[2]]["comment_id"],
                             by="demo@agency.example", private=True,
                             text="Désolés ! Nous regardons la commande 1042 et revenons vers vous.")
        sent = comments.send_approved(db, tenant_id=tid, now=at + timedelta(minutes=20),
                                      transport_factory=factory)
        with db.tenant_tx(tid) as conn:
            plist, _n = posts.list_posts(conn, tenant_id=tid, limit=5)
            runs = posts.runs(conn, tenant_id=tid, post_ids=[post["post_id"]])
            crows, total = comments.list_comments(conn, tenant_id=tid, limit=20)
            st = credits.state(conn, tenant_id=tid)
    pt = Table(_(lang, "post"), _(lang, "status"), _(lang, "next (UTC)"), _(lang, "recurrence"),
               _(lang, "published"), _(lang, "runs"),
               title=_(lang, "Scheduled posts of {tenant} ({n})", tenant="inbox-demo", n=len(plist)))
    for p in plist:
        pt.add_row(str(p["post_id"]), p["status"],
                   p["occurrence_at"].strftime("%Y-%m-%d %H:%M") if p["occurrence_at"] else "–",
                   p["rrule"] or "–", str(p["published_count"]),
                   ", ".join(f"{r['status']} {r['platform_post_id'] or ''}" for r in runs
                             if r["post_id"] == p["post_id"]) or "–")
    console.print(pt)
    ct = Table(_(lang, "author"), _(lang, "comment"), _(lang, "triage"), _(lang, "reply"),
               title=_(lang, "Comments of {tenant} ({n})", tenant="inbox-demo", n=total))
    for r in crows:
        ct.add_row(r["author_name"] or "–", ("↳ " if r["parent_id"] else "") + (r["text"] or ""),
                   (r["triage"] or "–") + (f" · {r['triage_reason']}" if r["triage_reason"] else ""),
                   r["reply_status"] + (f" ({r['reply_kind']}): {r['ai_reply_text']}"
                                        if r["ai_reply_text"] else ""))
    console.print(ct)
    console.print(_(lang, "{tenant}: plan {plan}, {left} credits left.", tenant="inbox-demo",
                    plan=st["plan"], left=st["credits_remaining"]))
    return {"published": published["success"], "comments": polled["comments_new"],
            "replies": sent["sent"]}
