"""Rule signals of the triage, in English and French: messages to ignore, escalation cues.

Matched on the text folded to lower case without accents (the same folding as
:func:`growthops.inbox.rules.wants_human`), on whole words.

**Ignore** (seed 003's "spam, thanks, emoji-only, off-topic"):

* ``empty``: no letter or digit at all (emoji, punctuation, stickers' alt text);
* ``thanks``: only an acknowledgement (thanks, ok, great, merci, super, parfait...), at most six
  words — answering it would start a loop;
* ``spam``: a link together with a known spam phrase (follow for follow, crypto, promo of a
  third party...).

**Escalation cues** (a person must answer, whatever the knowledge base says): refund or
chargeback, complaint, legal threat, and strong negative wording (insults, "worst",
"scam", "inadmissible"...). The lists are short and explicit on purpose: a false positive only
hands a message to a person; they are the rules a tenant can read in the docs
(docs/inbox-ai.md) and each decision names the rule that matched.
"""

from __future__ import annotations

import re

from growthops.inbox.rules import _fold

THANKS_WORDS = {
    "thanks", "thank", "you", "thx", "ty", "ok", "okay", "k", "great", "perfect", "cool",
    "nice", "awesome", "super", "good", "got", "it", "noted", "cheers", "much", "so", "a", "lot",
    "very", "merci", "beaucoup", "parfait", "top", "genial", "d'accord", "daccord", "bien",
    "recu", "nickel", "ca", "marche", "bonne", "journee", "have", "day", "bye",
    "au", "revoir", "bisous", "ok!", "yes", "oui", "lol", "mdr",
}
SPAM = re.compile(r"\b(follow ?(4|for) ?follow|f4f|crypto|bitcoin|forex|onlyfans|promo code|"
                  r"earn \$?\d+|gagnez \d+|check (out )?my (page|profile|bio)|dm (me )?for collab)\b")
LINK = re.compile(r"https?://|www\.|\b\w+\.(com|net|io|xyz|ly)/")
CUES: dict[str, re.Pattern[str]] = {
    "refund": re.compile(r"\b(refund|refunds|refunded|money back|chargeback|rembours\w*|"
                         r"retrocession)\b"),
    "complaint": re.compile(r"\b(complain\w*|complaint|plainte|reclamation|reclamer|"
                            r"pas content|not happy|unhappy|mecontent\w*|decu|decue|disappointed)\b"),
    "legal": re.compile(r"\b(lawyer|attorney|legal action|sue|suing|court|lawsuit|avocat|"
                        r"tribunal|justice|poursuite\w*|mise en demeure|60 millions|dgccrf|"
                        r"ufc|que choisir)\b"),
    "negative": re.compile(r"\b(worst|terrible|horrible|awful|scam|fraud|disgusting|"
                           r"unacceptable|ridiculous|pathetic|shame|useless|arnaque\w*|"
                           r"honte|inadmissible|scandal\w*|nul|nuls|nulle|degoute\w*|"
                           r"inacceptable|voleur\w*|escroc\w*|lamentable)\b"),
}


def ignore_rule(text: str | None) -> str | None:
    """Return ``empty``, ``thanks`` or ``spam`` when ``text`` is to be ignored, else None."""
    t = _fold(text or "")
    if not re.search(r"\w", t):
        return "empty"
    words = re.findall(r"[\w']+", t)
    if len(words) <= 6 and all(w in THANKS_WORDS for w in words):
        return "thanks"
    if LINK.search(t) and SPAM.search(t):
        return "spam"
    return None


def escalation_cue(text: str | None) -> str | None:
    """Return the first escalation cue (:data:`CUES` order) found in ``text``, else None."""
    t = _fold(text or "")
    for name, pattern in CUES.items():
        if pattern.search(t):
            return name
    return None
