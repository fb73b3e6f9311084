"""The served-model agent (``openai:MODEL@URL``) against real HTTP servers on 127.0.0.1 that misbehave on purpose.

The agent against a real ``vllm serve`` is in tests_vllm/test_served_eval.py (run by tests/test_vllm_suite.py).
"""

import base64
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from vlgym.errors import AgentUnavailableError
from vlgym.eval import evaluate, resolve_agent_spec
from vlgym.served import ServedModelAgent, load_openai_agent

ENV = "vlgym/GymCards-NumberLine-v0"


class Server:
    """An HTTP server whose answers a test scripts: ``replies`` is consumed one per request (the last repeats)."""

    def __init__(self, replies):
        self.replies, self.requests = list(replies), []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                status, payload = server.replies.pop(0) if len(server.replies) > 1 else server.replies[0]
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def completion(text: str) -> bytes:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()


@pytest.fixture
def server(request):
    s = Server(request.param)
    yield s
    s.close()


@pytest.mark.parametrize("server", [[(200, completion('{"thoughts": "", "action": "+"}'))]], indirect=True)
def test_requests_carry_the_prompt_images_and_decoding_and_the_key_stays_out_of_results(server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    result = evaluate(ENV, ServedModelAgent("tiny", server.url), episodes=2)
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sk-test-secret"
    body = request["body"]
    assert body["model"] == "tiny" and body["temperature"] == 0.0 and body["max_tokens"] == 256
    user = body["messages"][-1]["content"]
    url = next(item["image_url"]["url"] for item in user if item["type"] == "image_url")
    assert url.startswith("data:image/png;base64,")
    assert Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).format == "PNG"
    assert any("action" in item.get("text", "") for item in user)
    dumped = json.dumps(result.to_dict())
    assert result.agent_info["sampling"] == {"temperature": 0.0, "top_p": 1.0, "max_tokens": 256}
    assert "sk-test-secret" not in dumped and result.summary()["parse_failure_rate"] == 0.0


@pytest.mark.parametrize("server", [[(429, b"slow down"), (503, b"busy"), (200, completion('{"action": "+"}'))]],
                         indirect=True)
def test_rate_limits_and_server_errors_are_retried(server):
    agent = ServedModelAgent("tiny", server.url, backoff_s=0.01)
    result = evaluate(ENV, agent, episodes=1)
    assert len(server.requests) >= 3 and result.summary()["episodes"] == 1


@pytest.mark.parametrize("server", [[(200, b"<html>not json</html>"), (200, b'{"choices": []}')]], indirect=True)
def test_garbage_answers_count_as_invalid_answers(server):
    result = evaluate(ENV, ServedModelAgent("tiny", server.url), episodes=2)
    summary = result.summary()
    assert summary["episodes"] == 2 and summary["parse_failure_rate"] == 1.0
    assert result.agent_info["garbage_responses"] == len(server.requests)


@pytest.mark.parametrize("server", [[(404, b'{"error": "model tiny does not exist"}')]], indirect=True)
def test_a_refused_request_is_a_clear_error_without_retries(server):
    with pytest.raises(AgentUnavailableError, match=r"HTTP 404.*does not exist"):
        evaluate(ENV, ServedModelAgent("tiny", server.url, backoff_s=0.01), episodes=1)
    assert len(server.requests) == 1


@pytest.mark.parametrize("server", [[(200, completion('{"action": "+"}'))]], indirect=True)
def test_a_server_that_dies_leaves_the_finished_episodes(server):
    played = []

    class Stopping(ServedModelAgent):  # the server goes away once two episodes are over
        def reset(self, seed):
            played.append(seed)
            if len(played) == 3:
                server.close()
            super().reset(seed)

    agent = Stopping("tiny", server.url, backoff_s=0.01, max_retries=2, timeout_s=2)
    with pytest.raises(AgentUnavailableError, match="did not answer after 3 attempts") as caught:
        evaluate(ENV, agent, episodes=10)
    partial = caught.value.partial
    assert partial.summary()["episodes"] == 2 and "did not answer" in partial.to_dict()["stopped"]


def test_the_spec_names_model_and_url():
    assert resolve_agent_spec("openai:tiny@http://127.0.0.1:1/v1")[:2] == ("openai", "tiny@http://127.0.0.1:1/v1")
    agent = load_openai_agent("org/model@http://127.0.0.1:1/v1", ENV, {})
    assert (agent.model, agent.url) == ("org/model", "http://127.0.0.1:1/v1")
    agent = load_openai_agent("tiny@http://127.0.0.1:1/v1#temperature=0.5&max_retries=0", ENV, {})
    assert (agent.url, agent.decoding.temperature, agent.max_retries) == ("http://127.0.0.1:1/v1", 0.5, 0)
    for bad in ("tiny", "tiny@ftp://x", "tiny@http://x#top_k=3", "tiny@http://x#max_tokens=many"):
        with pytest.raises(ValueError):
            load_openai_agent(bad, ENV, {})
