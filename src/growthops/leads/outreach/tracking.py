"""Open and click tracking, each event classified human or machine.

Opens are a 1×1 GIF (``/o/o/<token>.gif``), clicks a redirect (``/o/c/<token>/<n>`` to the
n-th original link, never to a URL taken from the request). Mail privacy proxies and security
scanners fetch both without a person, so every event goes through :func:`classify`, whose
rules are applied in this order (the first that fires names the event's ``machine_rule``):

1. ``head_request`` — a HEAD request: link checkers and scanners probe, browsers GET.
2. ``scanner_user_agent`` — a user agent of a known security scanner or link expander
   (:data:`SCANNER_UA`: Barracuda, Mimecast, Proofpoint, Microsoft Safe Links / Office preview,
   Cisco IronPort, Trend Micro, Symantec, Sophos, Forcepoint, FireEye, Bing preview, HTTP
   libraries such as curl, python-requests, Go-http-client, Java, Wget).
3. ``gmail_image_proxy`` — Google's image proxy (UA contains ``GoogleImageProxy``): Gmail
   fetches images through it, cached, so the count and timing are not a person's (Google,
   "Images in Gmail", 2013); conservatively excluded from the human rates.
4. ``yahoo_proxy`` — ``YahooMailProxy``: same as Gmail's.
5. ``apple_mpp`` — Apple Mail Privacy Protection: the request comes from Apple's network
   (17.0.0.0/8, ARIN allocation to Apple Inc.) or carries the bare ``Mozilla/5.0`` user agent
   MPP uses; MPP pre-fetches every image when the message is delivered, opened or not (Apple,
   "Mail Privacy Protection", WWDC 2021).
6. ``scanner_network`` — an address of Microsoft Exchange Online Protection (40.92.0.0/15,
   40.107.0.0/16, 52.100.0.0/14, 104.47.0.0/17, Microsoft 365 "URLs and IP address ranges")
   or Google's proxy / crawler networks (66.102.0.0/20, 66.249.64.0/19).
7. ``too_fast`` — less than :data:`MIN_HUMAN_SECONDS` (10 s) after the e-mail was sent: a
   person does not receive, open and click within seconds; gateways scan during delivery.
8. ``all_links_at_once`` — every link of an e-mail with 2 or more links clicked within
   :data:`BURST_SECONDS` (5 s): scanners follow all links, people one. When a click completes
   such a burst, the burst's earlier clicks are re-marked machine too.

Tracking can be switched off per tenant (``outreach_settings.tracking_enabled``): then no
pixel, no rewritten link, no event, and the metrics say "not tracked" (null), never 0.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from html import escape
from typing import Any

SCANNER_UA = re.compile(
    r"barracuda|mimecast|proofpoint|safelinks|ms-office|microsoft office|microsoft outlook "
    r"link preview|ironport|cisco|trendmicro|trend micro|symantec|messagelabs|sophos|"
    r"forcepoint|websense|fireeye|bingpreview|bingbot|googlebot|slackbot|facebookexternalhit|"
    r"linkcheck|scanner|\bcurl/|python-requests|python-urllib|aiohttp|go-http-client|"
    r"\bjava/|okhttp|wget|libwww|httpclient|headlesschrome|phantomjs", re.I)
APPLE_NETS = [ipaddress.ip_network("17.0.0.0/8")]
SCANNER_NETS = [ipaddress.ip_network(n) for n in (
    "40.92.0.0/15", "40.107.0.0/16", "52.100.0.0/14", "104.47.0.0/17",
    "66.102.0.0/20", "66.249.64.0/19")]
MIN_HUMAN_SECONDS = 10
BURST_SECONDS = 5
_HREF = re.compile(r'href="(https?://[^"]+)"', re.I)
GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
       b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


def instrument(body_html: str, *, base_url: str, token: str) -> tuple[str, list[str]]:
    """Rewrite each ``href="http(s)://..."`` to the click redirect and add the open pixel.

    The unsubscribe link (``/o/u/``) is left as it is. Returns ``(html, original links)``.
    """
    links: list[str] = []

    def sub(m: re.Match[str]) -> str:
        url = m.group(1)
        if url.startswith(f"{base_url}/o/u/"):
            return m.group(0)
        links.append(url.replace("&amp;", "&"))
        return f'href="{escape(base_url)}/o/c/{token}/{len(links) - 1}"'

    out = _HREF.sub(sub, body_html)
    pixel = (f'<img src="{escape(base_url)}/o/o/{token}.gif" width="1" height="1" alt="" '
             'style="display:none">')
    out = out.replace("</body>", pixel + "</body>") if "</body>" in out else out + pixel
    return out, links


def classify(*, method: str, user_agent: str | None, ip: str | None,
             sent_at: datetime | None, at: datetime) -> str | None:
    """Return the machine rule that fires for a request (see the module docstring), or None
    for a human. ``at`` and ``sent_at`` are aware datetimes."""
    ua = user_agent or ""
    if method.upper() == "HEAD":
        return "head_request"
    if SCANNER_UA.search(ua):
        return "scanner_user_agent"
    if "googleimageproxy" in ua.lower():
        return "gmail_image_proxy"
    if "yahoomailproxy" in ua.lower():
        return "yahoo_proxy"
    addr = None
    try:
        addr = ipaddress.ip_address(ip) if ip else None
    except ValueError:
        addr = None
    if (addr is not None and any(addr in n for n in APPLE_NETS)) or ua.strip() == "Mozilla/5.0":
        return "apple_mpp"
    if addr is not None and any(addr in n for n in SCANNER_NETS):
        return "scanner_network"
    if sent_at is not None and (at - sent_at).total_seconds() < MIN_HUMAN_SECONDS:
        return "too_fast"
    return None


def record(conn: Any, *, email: dict[str, Any], action: str, method: str,
           user_agent: str | None, ip: str | None, at: datetime,
           link_index: int | None = None) -> dict[str, Any]:
    """Store one open or click event of ``email`` (a row of ``outreach_emails``) with its
    classification; apply the burst rule to clicks; set ``opened_at`` on the first human open
    or click. Returns ``{"is_machine", "machine_rule"}``."""
    rule = classify(method=method, user_agent=user_agent, ip=ip, sent_at=email["sent_at"], at=at)
    tid = str(email["tenant_id"])
    try:
        ipaddress.ip_address(ip or "")
    except ValueError:
        ip = None
    ev = conn.execute(
        """insert into leads.outreach_tracking (tenant_id, email_id, prospect_id, campaign_id,
             action, "timestamp", is_machine, machine_rule, link_index, user_agent, ip)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning event_id""",
        [tid, email["email_id"], email["prospect_id"], email["campaign_id"], action, at,
         rule is not None, rule, link_index, (user_agent or "")[:1000] or None, ip]).fetchone()
    if action == "clicked" and rule is None and len(email["links"] or []) >= 2:
        burst = conn.execute(
            """select count(distinct link_index) n from leads.outreach_tracking
               where tenant_id = %s and email_id = %s and action = 'clicked'
                 and "timestamp" > %s::timestamptz - make_interval(secs => %s)""",
            [tid, email["email_id"], at, BURST_SECONDS]).fetchone()["n"]
        if burst >= len(email["links"]):
            rule = "all_links_at_once"
            conn.execute(
                """update leads.outreach_tracking set is_machine = true, machine_rule = %s
                   where tenant_id = %s and email_id = %s and action = 'clicked'
                     and "timestamp" > %s::timestamptz - make_interval(secs => %s)
                     and (not is_machine or event_id = %s)""",
                ["all_links_at_once", tid, email["email_id"], at, BURST_SECONDS, ev["event_id"]])
    if rule is None:
        conn.execute(
            """update leads.outreach_emails set opened_at = coalesce(opened_at, %s),
                 status = case when status in ('sent', 'delivered') then 'opened' else status end
               where tenant_id = %s and email_id = %s""", [at, tid, email["email_id"]])
    return {"is_machine": rule is not None, "machine_rule": rule}


def by_token(db: Any, token: str) -> tuple[str, dict[str, Any]] | None:
    """Return ``(tenant_id, e-mail row + tenant tracking switch)`` of a public token, or None."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", token or ""):
        return None
    with db.app_tx() as conn:
        hit = conn.execute("select * from leads.outreach_token_lookup(%s)", [token]).fetchone()
    if hit is None:
        return None
    tid = str(hit["tenant_id"])
    with db.tenant_tx(tid) as conn:
        row = conn.execute(
            """select e.*, coalesce(s.tracking_enabled, true) tracking_enabled
               from leads.outreach_emails e
               left join leads.outreach_settings s on s.tenant_id = e.tenant_id
               where e.tenant_id = %s and e.email_id = %s""", [tid, hit["email_id"]]).fetchone()
    return (tid, row) if row else None
