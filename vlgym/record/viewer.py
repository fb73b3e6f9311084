"""``vlgym view``: a local web page over recorded runs (standard-library HTTP server, no assets from the internet).

The page (``static/``) fetches JSON from ``/api/runs`` and ``/api/episode`` and frames from ``/frame``; it only
ever puts recorded text into the page as text (never as HTML), and the Content-Security-Policy header forbids
inline scripts besides, so an answer such as ``<script>...`` is shown, not run. Requests name runs, episodes and
frames by id; anything else is a 404, and no path outside the given folders can be read.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from vlgym.local_http import LocalHTTPServer
from vlgym.record.reader import Run, find_runs, load_episode

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {"/": ("index.html", "text/html; charset=utf-8"),
                "/viewer.js": ("viewer.js", "text/javascript; charset=utf-8"),
                "/viewer.css": ("viewer.css", "text/css; charset=utf-8")}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
EPISODE_NAME = re.compile(r"episode_\d+")
FRAME_NAME = re.compile(r"frames/\d+\.png")
# A JSON string field of the answer format, e.g. "thoughts": "..." (escaped quotes included).
ANSWER_FIELD = re.compile(r'"(thoughts|action)"\s*:\s*"((?:[^"\\]|\\.)*)"', re.DOTALL)


def answer_segments(answer: str | None) -> list[list[str]]:
    """``[[kind, text], ...]`` covering ``answer``: kind is ``thoughts`` or ``action`` for those fields' values,
    else ``plain`` (the page highlights them)."""
    if not answer:
        return []
    segments, position = [], 0
    for match in ANSWER_FIELD.finditer(answer):
        start, end = match.span(2)
        segments += [["plain", answer[position:start]], [match.group(1), answer[start:end]]]
        position = end
    segments.append(["plain", answer[position:]])
    return [s for s in segments if s[1]]


class Catalog:
    """The runs under one or two folders (source 0 and 1), rescanned on each listing."""

    def __init__(self, folders: Sequence[str | Path]):
        self.folders = [Path(f) for f in folders]
        for folder in self.folders:
            if not folder.is_dir():
                raise FileNotFoundError(f"no folder at {folder}")
        self.runs: dict[str, Run] = {}
        self.lock = threading.Lock()
        self.scan()

    def scan(self) -> list[dict[str, Any]]:
        listing, runs = [], {}
        for source, folder in enumerate(self.folders):
            for run in find_runs(folder):
                run_id = f"{source}:{run.name}"
                runs[run_id] = run
                listing.append({"id": run_id, "source": source, "name": run.name, "info": run.info,
                                "episodes": run.episodes()})
        with self.lock:
            self.runs = runs
        return listing

    def run(self, run_id: str) -> Run | None:
        with self.lock:
            return self.runs.get(run_id)

    def episode(self, run_id: str, name: str) -> dict[str, Any] | None:
        run = self.run(run_id)
        if run is None or not EPISODE_NAME.fullmatch(name) or not (run.path / name / "steps.jsonl").exists():
            return None
        episode = load_episode(run.path / name)
        for step in episode["steps"]:
            step["segments"] = answer_segments(step.get("answer"))
        return episode

    def frame(self, run_id: str, name: str, frame: str) -> Path | None:
        run = self.run(run_id)
        if run is None or not EPISODE_NAME.fullmatch(name) or not FRAME_NAME.fullmatch(frame):
            return None
        path = run.path / name / frame
        return path if path.is_file() else None


def make_handler(catalog: Catalog, sources: list[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet: the terminal shows the URL only
            pass

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path in STATIC_FILES:
                name, kind = STATIC_FILES[url.path]
                return self._send((STATIC / name).read_bytes(), kind)
            if url.path == "/api/runs":
                return self._json({"sources": sources, "runs": catalog.scan()})
            if url.path == "/api/episode":
                episode = catalog.episode(query.get("run", ""), query.get("episode", ""))
                return self._json(episode) if episode is not None else self._missing()
            if url.path == "/frame":
                path = catalog.frame(query.get("run", ""), query.get("episode", ""), query.get("file", ""))
                return self._send(path.read_bytes(), "image/png") if path is not None else self._missing()
            return self._missing()

        def _json(self, data: Any) -> None:
            self._send(json.dumps(data, ensure_ascii=False, default=repr).encode(), "application/json")

        def _missing(self) -> None:
            self._send(b"not found", "text/plain; charset=utf-8", HTTPStatus.NOT_FOUND)

        def _send(self, body: bytes, kind: str, status: HTTPStatus = HTTPStatus.OK) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for key, value in SECURITY_HEADERS.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


def make_server(folders: Sequence[str | Path], *, host: str = "127.0.0.1", port: int = 0) -> LocalHTTPServer:
    """The viewer's server over ``folders`` (not started); ``server.server_address`` has the bound port.

    >>> import tempfile
    >>> server = make_server([tempfile.mkdtemp()])
    >>> server.server_address[0]
    '127.0.0.1'
    >>> server.server_close()
    """
    catalog = Catalog(folders)
    return LocalHTTPServer((host, port), make_handler(catalog, [str(f) for f in catalog.folders]))


def serve(folders: Sequence[str | Path], *, port: int = 0, announce: Callable[[str], None] = print) -> None:
    """Serve the viewer on 127.0.0.1 until interrupted; ``announce`` gets its URL first."""
    server = make_server(folders, port=port)
    announce(f"http://127.0.0.1:{server.server_address[1]}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()

