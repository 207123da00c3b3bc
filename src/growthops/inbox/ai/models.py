"""Request and response models of the inbox AI API (knowledge base, settings, decisions)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from growthops.web.models import Out, StrictIn

Lang = Literal["en", "fr"]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class DocumentIn(StrictIn):
    """A document to index: its file name (the extension gives the type: txt, md, html, pdf),
    its bytes in base64 (at most 10 MiB decoded), an optional title and language."""

    filename: Short
    content_base64: Annotated[str, StringConstraints(min_length=4, max_length=14_000_000)]
    title: Short | None = None
    lang: Lang | None = Field(None, description="Overrides the detected language.")


class DocumentOut(Out):
    """A knowledge-base document and the state of its ingestion job."""

    document_id: int
    title: str
    source_kind: Literal["txt", "md", "html", "pdf"]
    file_size_bytes: int
    lang_code: str | None = None
    tsconfig: str | None = None
    status: Literal["processing", "indexed", "failed"]
    status_reason: str | None = None
    chunk_count: int
    embedding_model: str | None = None
    last_ingested_at: datetime | None = None
    created_at: datetime


class DocumentAccepted(Out):
    """A stored upload: ``created`` is false when the same bytes were already uploaded."""

    document_id: int
    status: str
    created: bool


class FaqEntryIn(StrictIn):
    """One FAQ entry."""

    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    answer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=8000)]
    category: Annotated[str, StringConstraints(max_length=200)] | None = None
    keywords: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=50)
    lang: Lang | None = None


class FaqIn(StrictIn):
    """FAQ entries to add (a question already there is updated)."""

    entries: list[FaqEntryIn] = Field(min_length=1, max_length=200)


class FaqOut(Out):
    """A FAQ entry."""

    faq_id: int
    question: str
    answer: str
    category: str | None = None
    keywords: list[str] = []
    lang_code: str | None = None
    source: str
    enabled: bool
    updated_at: datetime


class HitOut(Out):
    """A retrieved passage with its ranks and scores in each branch."""

    kind: Literal["faq", "chunk"]
    ref_id: int
    document_id: int | None = None
    title: str
    text: str
    lang: str | None = None
    start_char: int | None = None
    end_char: int | None = None
    ft_rank: int | None = None
    vec_rank: int | None = None
    ft_score: float
    cosine: float | None = None
    rrf: float


class SettingsIn(StrictIn):
    """AI settings to change (omitted fields stay as they are)."""

    ai_enabled_for_conversations: bool | None = None
    auto_reply_enabled: bool | None = None
    target_precision: float | None = Field(None, gt=0, lt=1)
    reply_lang: Lang | None = None
    embedding_model: Literal["all-MiniLM-L6-v2", "hashed-ngram-384"] | None = None
    system_prompt: Annotated[str, StringConstraints(max_length=4000)] | None = None


class SettingsOut(Out):
    """The tenant's AI settings, threshold and calibration summary."""

    ai_enabled_for_conversations: bool
    auto_reply_enabled: bool
    target_precision: float
    reply_threshold: float | None = None
    reply_lang: str | None = None
    embedding_model: str | None = None
    calibrated_at: datetime | None = None
    calibration: dict[str, Any] | None = None


class RulesIn(StrictIn):
    """The tenant's AI rules (omitted fields stay as they are)."""

    instructions: Annotated[str, StringConstraints(max_length=4000)] | None = None
    ignore_examples: list[Annotated[str, StringConstraints(min_length=1, max_length=1000)]] | None \
        = Field(None, max_length=200)
    ai_control_enabled: bool | None = None


class RulesOut(Out):
    """The tenant's AI rules."""

    instructions: str | None = None
    ignore_examples: list[str] = []
    ai_control_enabled: bool


class ExampleIn(StrictIn):
    """A labelled example for the calibration."""

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    label: Literal["answer", "escalate", "ignore"]
    expected: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        None, description="For 'answer': the FAQ question or document title that answers it.")


class ExamplesIn(StrictIn):
    """Labelled examples to add (a text already there is updated)."""

    examples: list[ExampleIn] = Field(min_length=1, max_length=500)


class CalibrationOut(Out):
    """The result of a calibration: threshold (None: target not reachable), its precision and
    coverage (fractions 0-1), labels used."""

    threshold: float | None = None
    precision: float | None = None
    coverage: float
    target: float
    n: int
    positives: int
    curve: list[dict[str, float]] = []


class DecisionOut(Out):
    """A triage decision with its reason, rule, evidence and reply."""

    ai_decision_id: int
    message_id: int | None = None
    conversation_id: int | None = None
    decision: Literal["respond", "ignore", "escalate"]
    confidence: float | None = None
    reason: str
    matched_rule: str | None = None
    message_text: str | None = None
    reply_text: str | None = None
    reply_status: str | None = None
    citations: list[dict[str, Any]] = []
    label: str | None = None
    created_at: datetime


class LabelIn(StrictIn):
    """A person's verdict on a decision (the calibration's ground truth)."""

    label: Literal["correct", "wrong"]
    by: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] \
        | None = None


# ------------------------------------------------------------ topics and suggested FAQ (learning)
class TopicOut(Out):
    """A topic: its c-TF-IDF label and terms, size, the items of the last 7 days and of the 7
    before (``trend_pct``: change in percent, None when the week before had none), examples."""

    cluster_id: int
    scope: Literal["global", "post"]
    scope_ref: int | None = None
    algo: str
    label: str
    keywords: list[str]
    size: int
    week_count: int
    prev_week_count: int
    trend_pct: float | None = None
    examples: list[str]
    run_at: datetime


class TopicsRunIn(StrictIn):
    """Run the clustering now: the tenant's messages of the last ``days`` days, or one monitored
    post's comments (``post_id``)."""

    post_id: int | None = Field(None, ge=1, le=2**63 - 1)
    days: int = Field(28, ge=1, le=365)


class TopicsRunOut(Out):
    """What a run found: items clustered, topics, items in no topic, the minimum topic size."""

    items: int
    topics: int
    noise: int
    min_cluster_size: int
    embedder: str


class SuggestionOut(Out):
    """A FAQ entry mined from people's answers: how many times it was asked and answered alike
    (``support``), the answers' agreement (word containment 0-1), the other questions."""

    faq_id: int
    question: str
    answer: str
    lang_code: str | None = None
    enabled: bool
    support: int
    agreement: float | None = None
    questions: list[str]
    decided_by: str | None = None
    created_at: datetime
