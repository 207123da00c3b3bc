"""The messaging windows: which rule, allowed or not, until when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from growthops.inbox.windows import HUMAN_AGENT, check

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_whatsapp_free_form_only_within_24_hours_then_a_template():
    ok = check("whatsapp", author="human", last_inbound_at=T0, now=T0 + timedelta(hours=23, minutes=59))
    assert ok.allowed and ok.rule == "whatsapp_24h" and ok.until == T0 + timedelta(hours=24)
    late = check("whatsapp", author="human", last_inbound_at=T0, now=T0 + timedelta(hours=24))
    assert not late.allowed and late.until == T0 + timedelta(hours=24)
    assert "2026-03-02 12:00 UTC" in late.explain("en") and "template" in late.explain("en")
    tpl = check("whatsapp", author="human", last_inbound_at=T0, now=T0 + timedelta(days=30),
                template=True)
    assert tpl.allowed and tpl.rule == "whatsapp_template"
    assert not check("whatsapp", author="ai", last_inbound_at=T0, now=T0, template=True).allowed
    assert check("whatsapp", author="human", last_inbound_at=None, now=T0).rule == "no_inbound"


def test_instagram_automated_24_hours_human_agent_7_days():
    ai = check("instagram", author="ai", last_inbound_at=T0, now=T0 + timedelta(hours=25))
    assert not ai.allowed and ai.rule == "instagram_24h"
    early = check("instagram", author="human", last_inbound_at=T0, now=T0 + timedelta(hours=2))
    assert early.allowed and early.tag is None
    human = check("instagram", author="human", last_inbound_at=T0, now=T0 + timedelta(days=6))
    assert human.allowed and human.tag == HUMAN_AGENT and human.until == T0 + timedelta(days=7)
    closed = check("instagram", author="human", last_inbound_at=T0, now=T0 + timedelta(days=7))
    assert not closed.allowed and closed.rule == "instagram_human_agent_7d"
    assert not check("instagram", author="human", last_inbound_at=T0, now=T0, template=True).allowed


def test_refusals_are_explained_in_french_too():
    v = check("whatsapp", author="human", last_inbound_at=T0, now=T0 + timedelta(days=2))
    fr = v.explain("fr")
    assert fr != v.explain("en") and "24 h" in fr and "2026-03-02 12:00 UTC" in fr
