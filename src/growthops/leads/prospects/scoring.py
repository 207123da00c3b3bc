"""``automation_need_score``: how much a prospect is worth a person's outreach, 45–95.

The seed's scale (45–95) is kept: ``score = 45 + 50 × Σ weight_i × value_i`` with every value in
[0, 1] and the weights summing to 1, so a prospect about which nothing is known scores 70 and
each feature's share is shown (``score_contributions``: value, weight, points, basis).
It is a documented prior, not a fitted model: a new tenant has no outcomes to fit on; the one
measured input is the industry's reply rate, which the metrics job recomputes from the
tenant's own campaigns. Features and weights (:data:`WEIGHTS`):

* ``industry_reply`` (0.30): the industry's human reply rate from
  ``prospect_industry_performance`` divided by the best industry's (industries with at least
  :data:`MIN_CONTACTED` contacted; otherwise 0.5, unknown);
* ``icp_similarity`` (0.25): cosine between the prospect's description (name, industry, region)
  and the tenant's ideal customer profile, mapped linearly from [0.10, 0.60] to [0, 1] (MiniLM
  cosines of unrelated English sentences sit near 0.0–0.1, paraphrases above 0.6; STACK-NOTES);
  0.5 without a profile;
* ``form_test`` (0.20): ``1 − score/100`` of the latest completed form test (a slow, robotic
  answer means a need for automation); 1.0 after a timeout (no answer); 0.5 untested;
* ``size`` (0.15): employees 10–200 → 1.0 (big enough to buy, too small for an in-house team),
  1–9 → 0.6, 201–1000 → 0.5, over 1000 → 0.2, unknown 0.5 (an assumption of the seed's
  agency: SMBs are its market);
* ``language`` (0.10): 1.0 when the prospect's language (given, or inferred from the region)
  is English or French (the languages the templates are written in), 0.5 unknown.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import numpy as np

WEIGHTS = {"industry_reply": 0.30, "icp_similarity": 0.25, "form_test": 0.20, "size": 0.15,
           "language": 0.10}
MIN_CONTACTED = 20
ICP_LOW, ICP_HIGH = 0.10, 0.60
HASHED_DIM = 1024


class HashedEmbedder:
    """Fallback embedder without the ``[ml]`` extra: character 2–5-gram counts hashed into
    1,024 columns (scikit-learn ``HashingVectorizer``), L2-normalised. Lexical only."""

    name = "hashed-char-ngrams-1024"
    dim = HASHED_DIM

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return float32 ``(len(texts), 1024)``, rows of norm 1 (or 0 for an empty text)."""
        from sklearn.feature_extraction.text import HashingVectorizer

        vec = HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5), n_features=HASHED_DIM,
                                alternate_sign=False, norm="l2", lowercase=True)
        return vec.transform(texts).toarray().astype(np.float32)


def embedder() -> Any:
    """The local MiniLM embedder when the ``[ml]`` extra is installed, else :class:`HashedEmbedder`."""
    from growthops.core.ai.embeddings import local_embedder

    return local_embedder() or HashedEmbedder()


def prospect_text(p: dict[str, Any]) -> str:
    """The text embedded for a prospect: name, industry, region."""
    return ". ".join(str(p[k]) for k in ("business_name", "industry", "region") if p.get(k))


def size_value(employees: int | None) -> float:
    """The ``size`` feature (see the module docstring)."""
    if employees is None:
        return 0.5
    if employees < 10:
        return 0.6
    if employees <= 200:
        return 1.0
    return 0.5 if employees <= 1000 else 0.2


def contributions(*, industry_ratio: float | None, icp_cosine: float | None,
                  form_score: float | None, form_timeout: bool, employees: int | None,
                  language: str | None) -> tuple[float, dict[str, dict[str, Any]]]:
    """Return ``(score 45–95, {feature: {value, weight, points, basis}})``."""
    icp = None if icp_cosine is None else min(1.0, max(0.0, (icp_cosine - ICP_LOW)
                                                       / (ICP_HIGH - ICP_LOW)))
    form = 1.0 if form_timeout else (None if form_score is None else 1 - form_score / 100)
    values = {
        "industry_reply": (industry_ratio, "industry reply rate / best industry's"),
        "icp_similarity": (icp, f"cosine {icp_cosine:.3f} to the profile" if icp_cosine
                           is not None else "no profile"),
        "form_test": (form, "no answer to the test inquiry" if form_timeout else
                      (f"form test score {form_score:.0f}" if form_score is not None
                       else "not tested")),
        "size": (size_value(employees), f"{employees} employees" if employees is not None
                 else "size unknown"),
        "language": (None if language is None else 1.0, language or "language unknown"),
    }
    out: dict[str, dict[str, Any]] = {}
    total = 45.0
    for name, (v, basis) in values.items():
        val = 0.5 if v is None else float(v)
        pts = 50 * WEIGHTS[name] * val
        total += pts
        out[name] = {"value": round(val, 3), "weight": WEIGHTS[name], "points": round(pts, 1),
                     "basis": basis if v is not None or name == "icp_similarity" else
                     f"{basis} (0.5 assumed)"}
    return round(min(95.0, max(45.0, total)), 1), out


def rescore(conn: Any, *, tenant_id: UUID | str, prospect_ids: list[int] | None = None) -> int:
    """Recompute the score of the tenant's prospects (or of ``prospect_ids``); return how many.

    Reads the features in one query, embeds the descriptions in one batch when the tenant has
    a profile, writes every score with one ``UPDATE ... FROM unnest``.
    """
    tid = str(tenant_id)
    rows = conn.execute(
        """with perf as (
             select industry, reply_rate, max(reply_rate) over () best
             from leads.prospect_industry_performance
             where tenant_id = %s and total_contacted >= %s),
           ft as (
             select distinct on (prospect_id) prospect_id, score, test_status
             from leads.prospect_form_tests where tenant_id = %s
               and test_status in ('completed', 'timeout')
             order by prospect_id, test_submitted_at desc)
           select p.prospect_id, p.business_name, p.industry, p.region, p.employees, p.language,
                  case when perf.best > 0 then perf.reply_rate / perf.best end industry_ratio,
                  ft.score form_score, ft.test_status = 'timeout' form_timeout
           from leads.prospect_candidates p
           left join perf on lower(perf.industry) = lower(p.industry)
           left join ft on ft.prospect_id = p.prospect_id
           where p.tenant_id = %s and (%s::bigint[] is null or p.prospect_id = any(%s))""",
        [tid, MIN_CONTACTED, tid, tid, prospect_ids, prospect_ids]).fetchall()
    if not rows:
        return 0
    st = conn.execute("""select icp_vector, icp_model from leads.outreach_settings
                         where tenant_id = %s""", [tid]).fetchone()
    cosines: list[float | None] = [None] * len(rows)
    if st and st["icp_vector"]:
        emb = embedder()
        icp = np.asarray(st["icp_vector"], dtype=np.float32)
        if emb.name == st["icp_model"] and icp.shape[0] == emb.dim:
            vecs = emb.embed([prospect_text(r) for r in rows])
            cosines = [float(x) for x in vecs @ icp]
    ids, scores, contribs, sims = [], [], [], []
    import json

    for r, cos in zip(rows, cosines, strict=True):
        score, parts = contributions(
            industry_ratio=None if r["industry_ratio"] is None else float(r["industry_ratio"]),
            icp_cosine=cos, form_score=None if r["form_score"] is None else float(r["form_score"]),
            form_timeout=bool(r["form_timeout"]), employees=r["employees"],
            language=r["language"])
        ids.append(r["prospect_id"])
        scores.append(score)
        contribs.append(json.dumps(parts))
        sims.append(None if cos is None else round(cos, 4))
    conn.execute(
        """update leads.prospect_candidates p set automation_need_score = u.score,
                  score_contributions = u.parts::jsonb, icp_similarity = u.sim, updated_at = now()
           from unnest(%s::bigint[], %s::numeric[], %s::text[], %s::numeric[])
                as u(id, score, parts, sim)
           where p.tenant_id = %s and p.prospect_id = u.id""",
        [ids, scores, contribs, sims, tid])
    return len(ids)


def set_profile(conn: Any, *, tenant_id: UUID | str, text: str) -> dict[str, Any]:
    """Store and embed the tenant's ideal customer profile, then rescore every prospect.

    Raises ValueError for an empty text or one over 10,000 characters.
    """
    text = text.strip()
    if not text or len(text) > 10_000:
        raise ValueError("profile: 1 to 10,000 characters")
    emb = embedder()
    vec = [float(x) for x in emb.embed([text])[0]]
    conn.execute(
        """insert into leads.outreach_settings (tenant_id, icp_text, icp_vector, icp_model)
           values (%s, %s, %s, %s)
           on conflict (tenant_id) do update set icp_text = excluded.icp_text,
             icp_vector = excluded.icp_vector, icp_model = excluded.icp_model, updated_at = now()""",
        [str(tenant_id), text, vec, emb.name])
    n = rescore(conn, tenant_id=tenant_id)
    return {"model": emb.name, "dim": len(vec), "rescored": n}
