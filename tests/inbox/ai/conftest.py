"""Inbox AI test helpers: a tenant whose knowledge base uses the hashed n-gram embedder (no model
needed, deterministic), with a small bilingual knowledge base."""

from __future__ import annotations

import numpy as np
import pytest

from growthops.core.db import Database
from growthops.inbox.ai import config, kb
from tests.conftest import new_tenant

FAQ = [
    {"question": "What are your opening hours?",
     "answer": "We are open Monday to Friday from 9am to 6pm, and Saturday from 10am to 4pm."},
    {"question": "How long does delivery take?",
     "answer": "Delivery takes 2 to 4 working days in France and 5 to 7 days elsewhere in Europe."},
    {"question": "Do you ship to Canada?",
     "answer": "Yes, we ship to Canada; customs fees are paid by the recipient."},
    {"question": "Quels sont vos horaires d'ouverture ?",
     "answer": "Nous sommes ouverts du lundi au vendredi de 9 h à 18 h et le samedi de 10 h à 16 h."},
    {"question": "Combien de temps prend la livraison ?",
     "answer": "La livraison prend 2 à 4 jours ouvrés en France et 5 à 7 jours ailleurs en Europe."},
]


def kb_tenant(db: Database, *, faq: bool = True):
    """A new tenant on the hashed embedder, with :data:`FAQ` when ``faq``."""
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        config.update_settings(conn, tenant_id=t.tenant_id, embedding_model="hashed-ngram-384")
        if faq:
            kb.add_faq(conn, tenant_id=t.tenant_id, entries=FAQ)
    return t


@pytest.fixture()
def kbt(db: Database):
    """A tenant with the small bilingual FAQ."""
    return kb_tenant(db)


#: Labelled examples for the small FAQ: answerable paraphrases (expected = the FAQ question)
#: and questions the FAQ cannot answer.
ANSWERABLE = [
    ("when do you open?", "What are your opening hours?"),
    ("what time do you open on saturday", "What are your opening hours?"),
    ("are you open on friday afternoon?", "What are your opening hours?"),
    ("what are the hours of the shop", "What are your opening hours?"),
    ("until what time are you open", "What are your opening hours?"),
    ("opening times please", "What are your opening hours?"),
    ("how many days for delivery?", "How long does delivery take?"),
    ("how long will delivery take to Germany", "How long does delivery take?"),
    ("when will my delivery arrive, how long does it take", "How long does delivery take?"),
    ("delivery time in France?", "How long does delivery take?"),
    ("how long does shipping take", "How long does delivery take?"),
    ("can you ship to Canada", "Do you ship to Canada?"),
    ("do you deliver to canada?", "Do you ship to Canada?"),
    ("shipping to Canada possible?", "Do you ship to Canada?"),
    ("I live in Canada, do you ship there", "Do you ship to Canada?"),
    ("quels sont vos horaires", "Quels sont vos horaires d'ouverture ?"),
    ("vous êtes ouverts le samedi ?", "Quels sont vos horaires d'ouverture ?"),
    ("à quelle heure ouvrez-vous", "Quels sont vos horaires d'ouverture ?"),
    ("horaires d'ouverture du magasin", "Quels sont vos horaires d'ouverture ?"),
    ("combien de jours pour la livraison", "Combien de temps prend la livraison ?"),
    ("la livraison prend combien de temps", "Combien de temps prend la livraison ?"),
    ("délai de livraison en France ?", "Combien de temps prend la livraison ?"),
]
UNANSWERABLE = [
    "do you sell gift cards?", "can I pay with paypal", "what is your return policy",
    "is the blue sweater available in size M", "do you have a loyalty program",
    "who designed your logo", "can I book an appointment", "is parking available nearby",
    "do you offer student discounts", "what material is the jacket made of",
    "vendez-vous des cartes cadeaux", "puis-je payer en trois fois", "avez-vous un parking",
    "le pull est-il en coton", "faites-vous des réductions étudiantes",
    "how do I reset my password", "is there a warranty on shoes", "where is the nearest store",
    "do you recycle old clothes", "can I change the colour of my order",
]


def label_examples(db: Database, tenant_id) -> None:
    """Store :data:`ANSWERABLE` and :data:`UNANSWERABLE` as the tenant's labelled examples."""
    from growthops.inbox.ai import calibrate

    rows = ([{"text": t, "label": "answer", "expected": e} for t, e in ANSWERABLE]
            + [{"text": t, "label": "escalate"} for t in UNANSWERABLE])
    with db.tenant_tx(tenant_id) as conn:
        calibrate.add_examples(conn, tenant_id=tenant_id, rows=rows, source="api")


class FixedEmbedder:
    """An embedder returning one fixed vector ``v`` (shape ``(dim,)``) for any single text, as
    ``(1, dim)``: the search's vector branch then queries exactly ``v``."""

    name = "test"

    def __init__(self, v: np.ndarray) -> None:
        self.v = v

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.v[None, :]
