"""The platforms' messaging windows, enforced before anything is sent.

Sources:

* WhatsApp: "Customer service windows" (WhatsApp Cloud API, "Send messages" guide): after a
  customer's message the business may send any message for 24 hours; outside that window only
  approved template messages (the API refuses free-form with error 131047 "Re-engagement
  message").
* Instagram: "Instagram Messaging" (Instagram Platform) and Messenger Platform "Message Tags":
  standard (automated or not) replies within 24 hours of the user's last message; the
  ``HUMAN_AGENT`` tag lets a **person** reply up to 7 days after it. Automated replies are never
  allowed past 24 hours. Instagram has no templates.

growthops adds one rule of its own: templates are sent by people, never by the AI (no message
without an approval or an explicit auto policy, see BRIEF).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from growthops.core.i18n import _

WHATSAPP_WINDOW = timedelta(hours=24)
INSTAGRAM_WINDOW = timedelta(hours=24)
INSTAGRAM_HUMAN_AGENT_WINDOW = timedelta(days=7)
HUMAN_AGENT = "HUMAN_AGENT"

Author = Literal["ai", "human"]
Rule = Literal["whatsapp_24h", "whatsapp_template", "instagram_24h", "instagram_human_agent_7d",
               "instagram_no_template", "template_by_person", "no_inbound"]


@dataclass(frozen=True)
class WindowVerdict:
    """May this message go out now? ``rule``: the rule applied; ``until``: when the window used
    closes (allowed) or closed (refused; None when the customer never wrote); ``tag``: the
    message tag to send with it (``HUMAN_AGENT``) or None."""

    allowed: bool
    rule: Rule
    until: datetime | None = None
    tag: str | None = None

    def explain(self, lang: str = "en") -> str:
        """The rule and its time limit, in words (English or French)."""
        when = self.until.strftime("%Y-%m-%d %H:%M UTC") if self.until else ""
        texts = {
            ("whatsapp_24h", True): _(lang, "WhatsApp free-form message allowed until {until} "
                                            "(24 h after the customer's last message).",
                                      until=when),
            ("whatsapp_24h", False): _(lang, "WhatsApp allows free-form messages only within "
                                             "24 h of the customer's last message; that window "
                                             "closed at {until}. Send an approved template.",
                                       until=when),
            ("whatsapp_template", True): _(lang, "Approved WhatsApp template: allowed at any time."),
            ("instagram_24h", True): _(lang, "Instagram reply allowed until {until} (24 h after "
                                             "the customer's last message).", until=when),
            ("instagram_24h", False): _(lang, "Instagram allows automated replies only within "
                                              "24 h of the customer's last message; that window "
                                              "closed at {until}. A person can still answer "
                                              "(human agent, 7 days).", until=when),
            ("instagram_human_agent_7d", True): _(lang, "Instagram human-agent reply allowed "
                                                        "until {until} (7 days after the "
                                                        "customer's last message).", until=when),
            ("instagram_human_agent_7d", False): _(lang, "Instagram allows a person's reply only "
                                                         "within 7 days of the customer's last "
                                                         "message (human agent tag); that window "
                                                         "closed at {until}.", until=when),
            ("instagram_no_template", False): _(lang, "Instagram has no message templates."),
            ("template_by_person", False): _(lang, "Templates are sent by a person, never by "
                                                   "the AI."),
            ("no_inbound", False): _(lang, "The customer has never written: only a WhatsApp "
                                           "template can start the conversation."),
        }
        return texts.get((self.rule, self.allowed), self.rule)


def check(platform: str, *, author: Author, last_inbound_at: datetime | None, now: datetime,
          template: bool = False) -> WindowVerdict:
    """Return whether a message may be sent now, by which rule, until when.

    ``author``: ``ai`` (automated) or ``human`` (a person through growthops); ``template``: an
    approved WhatsApp template rather than free-form text; times are timezone-aware UTC. A
    window is open while ``now < last_inbound_at + length`` (the end is excluded).
    """
    if template:
        if platform != "whatsapp":
            return WindowVerdict(False, "instagram_no_template")
        if author != "human":
            return WindowVerdict(False, "template_by_person")
        return WindowVerdict(True, "whatsapp_template")
    if last_inbound_at is None:
        return WindowVerdict(False, "no_inbound")
    if platform == "whatsapp":
        end = last_inbound_at + WHATSAPP_WINDOW
        return WindowVerdict(now < end, "whatsapp_24h", end)
    end = last_inbound_at + INSTAGRAM_WINDOW
    if now < end:
        return WindowVerdict(True, "instagram_24h", end)
    if author != "human":
        return WindowVerdict(False, "instagram_24h", end)
    end7 = last_inbound_at + INSTAGRAM_HUMAN_AGENT_WINDOW
    return WindowVerdict(now < end7, "instagram_human_agent_7d", end7,
                         HUMAN_AGENT if now < end7 else None)
