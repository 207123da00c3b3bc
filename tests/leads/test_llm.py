"""The optional LLM path over the official SDKs, against local servers speaking the wire formats
(OpenAI Chat Completions, Anthropic Messages): the answer replaces the local reading and every
execution is recorded in prompt_performance; a failing provider falls back to the local one."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from growthops.core.ai.llm import AnthropicLLM, OpenAICompatibleLLM
from growthops.leads.enrichment.service import enrich_leads
from tests.leads.conftest import q

ANSWER = {"summary": "Wants a quote.", "intent": "quote_request", "tone": "positive",
          "urgency": "medium"}


class Handler(BaseHTTPRequestHandler):
    status = 200
    seen: list[dict] = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        Handler.seen.append({"path": self.path, "body": body,
                             "auth": self.headers.get("authorization") or self.headers.get("x-api-key")})
        if self.path.endswith("/chat/completions"):
            out = {"id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
                   "choices": [{"index": 0, "finish_reason": "stop",
                                "message": {"role": "assistant", "content": json.dumps(ANSWER)}}],
                   "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}}
        else:
            out = {"id": "m1", "type": "message", "role": "assistant", "model": body["model"],
                   "content": [{"type": "text", "text": json.dumps(ANSWER)}],
                   "stop_reason": "end_turn", "stop_sequence": None,
                   "usage": {"input_tokens": 110, "output_tokens": 25}}
        data = json.dumps(out if Handler.status == 200 else {"error": {"message": "busy"}}).encode()
        self.send_response(Handler.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture()
def llm_server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    Handler.status, Handler.seen = 200, []
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def _lead(env, message="Hi, we need something for our shop."):
    r = env["client"].post("/api/v1/leads", json={"email": "a@example.org", "message": message},
                           headers={"X-API-Key": env["key"]})
    return r.json()["lead_id"]


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_llm_reading_is_used_and_recorded(leads_env, llm_server, kind):
    db, t = leads_env["db"], leads_env["tenant"]
    lid = _lead(leads_env)
    llm = (OpenAICompatibleLLM(model="local", api_key="sk-test", base_url=f"{llm_server}/v1")
           if kind == "openai" else AnthropicLLM(model="claude-test", api_key="sk-ant", base_url=llm_server))
    with db.tenant_tx(t.tenant_id) as conn:
        (r,) = enrich_leads(conn, tenant_id=t.tenant_id, llm=llm)
    assert (r.intent, r.tone, r.urgency, r.provider) == ("quote_request", "positive", "medium", kind)
    (perf,) = q(db, t, "select * from leads.prompt_performance where tenant_id = %s and lead_id = %s", lid)
    assert perf["provider"] == kind and not perf["error_occurred"] and perf["token_count"] > 0
    assert "Hi, we need something" in json.dumps(Handler.seen[-1]["body"])


def test_a_failing_llm_falls_back_to_the_local_reading(leads_env, llm_server):
    db, t = leads_env["db"], leads_env["tenant"]
    lid = _lead(leads_env, "Could you send me a quote for a new website?")
    Handler.status = 400
    llm = OpenAICompatibleLLM(model="local", api_key="sk-test", base_url=f"{llm_server}/v1")
    with db.tenant_tx(t.tenant_id) as conn:
        (r,) = enrich_leads(conn, tenant_id=t.tenant_id, llm=llm)
    assert r.provider == "local" and r.intent == "quote_request"
    (perf,) = q(db, t, "select * from leads.prompt_performance where tenant_id = %s and lead_id = %s", lid)
    assert perf["error_occurred"] and "400" in perf["error_message"]
