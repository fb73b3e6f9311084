"""A model behind an OpenAI-compatible chat-completions server as a ``vlgym eval`` agent.

    vlgym eval --env vlgym/GymCards-NumberLine-v0 --agent openai:MODEL@http://127.0.0.1:8000/v1 --output r.json

``MODEL`` is the server's model name, ``URL`` its API base (``.../v1``); vLLM (``vllm serve``), SGLang and hosted
APIs speak this protocol. Decoding and client options may follow ``#`` (``...v1#max_tokens=64&temperature=0.7``,
see :data:`SPEC_OPTIONS`). The prompt is :func:`vlgym.prompts.build_messages`; images travel as base64 PNG data
URLs. Decoding parameters (greedy by default, seeded per episode and step) are recorded in the results with the
model name and URL. The API key, if any, is read from the environment variable ``OPENAI_API_KEY`` and never
recorded or logged. Standard library only: no torch, no client package.

What happens when the server misbehaves:

- **429, 5xx, timeouts, refused connections** are retried ``max_retries`` times with exponential backoff
  (``Retry-After`` is honoured when the server sends it). When the retries are used up, ``act`` raises
  :class:`~vlgym.errors.AgentUnavailableError`: ``vlgym eval`` stops, writes the episodes finished so far (the
  result carries ``"stopped": <reason>``) and exits with code 2.
- **Other 4xx** (a wrong model name, a request the server refuses) raise the same error at once, with the
  server's message: retrying would not help.
- **Garbage** (a 200 answer that is not a chat completion, or has no text) counts as an **invalid answer**: the
  agent answers ``""``, the env applies its invalid-action outcome, and ``garbage_responses`` in the recorded agent
  info counts them.
"""

from __future__ import annotations

import base64
import io
import json
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from PIL import Image

from vlgym.errors import AgentUnavailableError
from vlgym.prompts import build_messages

API_KEY_ENV = "OPENAI_API_KEY"
#: Status codes worth retrying: rate limits and server-side failures.
RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})

_semaphores: dict[str, threading.BoundedSemaphore] = {}
_semaphores_lock = threading.Lock()


def _semaphore(url: str, limit: int) -> threading.BoundedSemaphore:
    """One request budget per server URL, shared by every agent of this process that talks to it."""
    with _semaphores_lock:
        return _semaphores.setdefault(url, threading.BoundedSemaphore(limit))


def png_data_url(image: np.ndarray) -> str:
    """An image as a ``data:image/png;base64,...`` URL.

    >>> png_data_url(np.zeros((1, 1, 3), dtype=np.uint8))[:30]
    'data:image/png;base64,iVBORw0K'
    """
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def chat_messages(obs: dict[str, Any], info: dict[str, Any], **message_options: Any) -> list[dict[str, Any]]:
    """:func:`~vlgym.prompts.build_messages` in the chat-completions format (images as PNG data URLs)."""
    out = []
    for message in build_messages(obs, info, **message_options):
        content = [{"type": "image_url", "image_url": {"url": png_data_url(item["image"])}}
                   if item["type"] == "image" else {"type": "text", "text": item["text"]}
                   for item in message["content"]]
        out.append({"role": message["role"], "content": content})
    return out


@dataclass(frozen=True)
class Decoding:
    """The decoding parameters sent with every request (and recorded in the results)."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 256


def answer_text(body: bytes) -> str | None:
    """The first choice's text of a chat-completions response, or None if the body is not one.

    >>> answer_text(b'{"choices": [{"message": {"content": "hi"}}]}'), answer_text(b"<html>")
    ('hi', None)
    """
    try:
        content = json.loads(body)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) else None


class ServedModelAgent:
    """Answers with a served model; see the module docstring.

    >>> agent = ServedModelAgent("tiny", "http://127.0.0.1:9/v1", max_retries=0, timeout_s=1)
    >>> agent.describe()["sampling"]
    {'temperature': 0.0, 'top_p': 1.0, 'max_tokens': 256}
    """

    def __init__(self, model: str, base_url: str, *, decoding: Decoding | None = None, timeout_s: float = 60.0,
                 max_retries: int = 4, backoff_s: float = 1.0, max_concurrency: int = 4,
                 action_index: bool = False):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"server URL {base_url!r} must start with http:// or https://")
        self.model, self.url = model, base_url.rstrip("/")
        self.decoding = decoding or Decoding()
        self.timeout_s, self.max_retries, self.backoff_s = timeout_s, max_retries, backoff_s
        self.max_concurrency, self.action_index = max_concurrency, action_index
        self.name = f"openai:{model}@{self.url}"
        self.seed, self.step = 0, 0
        self.garbage_responses = 0
        self.last_prompt: str | None = None
        self.last_answer: str | None = None

    def reset(self, seed: int | None) -> None:
        self.seed, self.step = 0 if seed is None else seed, 0

    def act(self, obs: dict[str, Any], info: dict[str, Any]) -> str:
        messages = chat_messages(obs, info, action_index=self.action_index)
        self.last_prompt = "\n".join(item["text"] for m in messages for item in m["content"] if item["type"] == "text")
        request = {"model": self.model, "messages": messages, "n": 1, **asdict(self.decoding),
                   "seed": self.seed * 1000 + self.step}
        self.step += 1
        answer = answer_text(self._post(json.dumps(request).encode()))
        if answer is None:
            self.garbage_responses += 1
            answer = ""
        self.last_answer = answer
        return answer

    def _post(self, body: bytes) -> bytes:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(API_KEY_ENV)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(f"{self.url}/chat/completions", data=body, headers=headers, method="POST")
        reason, retry_after = "", None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self._delay(attempt, retry_after))
            try:
                with _semaphore(self.url, self.max_concurrency), \
                        urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    return response.read()
            except urllib.error.HTTPError as error:
                detail = error.read()[:300].decode("utf-8", "replace")
                if error.code not in RETRY_STATUS:
                    raise AgentUnavailableError(f"{self.url} refused the request: HTTP {error.code} {detail}") from None
                reason, retry_after = f"HTTP {error.code}", error.headers.get("Retry-After")
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
                reason, retry_after = f"{type(error).__name__}: {getattr(error, 'reason', error)}", None
        raise AgentUnavailableError(f"{self.url} did not answer after {self.max_retries + 1} attempts ({reason})")

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        """Exponential backoff, or the server's ``Retry-After`` seconds (at most a minute)."""
        if retry_after is not None and retry_after.strip().isdigit():
            return min(float(retry_after), 60.0)
        return self.backoff_s * 2 ** (attempt - 1)

    def describe(self) -> dict[str, Any]:
        return {"kind": "openai", "model": self.model, "url": self.url, "sampling": asdict(self.decoding),
                "seed": "episode seed * 1000 + step", "garbage_responses": self.garbage_responses}


#: Options a spec may set after ``#`` (a URL fragment is never sent to the server), with their types.
SPEC_OPTIONS = {"temperature": float, "top_p": float, "max_tokens": int, "timeout_s": float, "max_retries": int,
                "max_concurrency": int}


def load_openai_agent(arg: str, env_id: str, env_kwargs: dict[str, Any]) -> ServedModelAgent:
    """The ``vlgym.agents`` entry point for ``openai:MODEL@URL[#key=value&...]`` (keys: :data:`SPEC_OPTIONS`).

    >>> load_openai_agent("tiny@http://127.0.0.1:8000/v1#max_tokens=32&max_retries=1", "", {}).describe()["sampling"]
    {'temperature': 0.0, 'top_p': 1.0, 'max_tokens': 32}
    """
    model, at, rest = arg.partition("@")
    if not model or not at:
        raise ValueError(f"expected openai:MODEL@URL (e.g. openai:Qwen/Qwen2.5-VL-3B-Instruct@http://127.0.0.1:8000"
                         f"/v1), got openai:{arg}")
    url, _, fragment = rest.partition("#")
    options: dict[str, Any] = {}
    for item in filter(None, fragment.split("&")):
        key, _, value = item.partition("=")
        if key not in SPEC_OPTIONS:
            raise ValueError(f"unknown option {key!r} in openai:{arg}; known: {', '.join(SPEC_OPTIONS)}")
        try:
            options[key] = SPEC_OPTIONS[key](value)
        except ValueError:
            raise ValueError(f"option {key}={value!r} in openai:{arg} is not a {SPEC_OPTIONS[key].__name__}") from None
    decoding = Decoding(**{k: options.pop(k) for k in ("temperature", "top_p", "max_tokens") if k in options})
    return ServedModelAgent(model, url, decoding=decoding, **options)
