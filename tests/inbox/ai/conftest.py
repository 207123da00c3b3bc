"""Inbox AI test helpers: a tenant whose knowledge base uses the hashed n-gram embedder (no model
needed, deterministic), with a small bilingual knowledge base."""

from __future__ import annotations

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
