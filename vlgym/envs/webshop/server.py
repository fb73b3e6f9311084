"""The shop as a local web application for people: ``vlgym webshop serve``.

It is the same env (catalogue, goal for a seed, transitions, reward) behind the same HTML pages, served by
the standard library's ``http.server``: one shopper, no extra dependency, and nothing a framework would add
that a single-user local tool needs. Links and the search form map to actions (``/click/<target>``,
``/search?q=...``), then redirect to ``/``, which shows the current page; ``/new`` starts the next episode.
Unknown paths give a 404 page; a failure gives a 500 page without a traceback; a client that leaves before its
answer is dropped without a word. The server binds to 127.0.0.1 unless another host is asked for explicitly.
Each connection has a thread of its own and a timeout (``timeout``, 30 s by default): a client that sends
nothing, or half a request, is dropped when it runs out and never holds up the others; requests take turns on
the one episode.
"""

from __future__ import annotations

import html as html_lib
import logging
import sys
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from vlgym.envs.webshop.env import WebShopEnv
from vlgym.envs.webshop.html import render_html
from vlgym.local_http import LocalHTTPServer

log = logging.getLogger(__name__)
_ERROR_PAGE = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>{code}</title></head>"
               "<body style='font-family: sans-serif'><h1>{code}</h1><p>{message}</p>"
               "<p><a href='/'>Back to the shop</a></p></body></html>")


class Shop:
    """One shopper's episode: a WebShop env stepped by the pages' links."""

    def __init__(self, seed: int = 0, goal_index: int | None = None, **env_kwargs: Any):
        self.env = WebShopEnv(renderer="fast", image_size=(64, 64), **env_kwargs)
        self.env.max_episode_steps = 10_000  # people are not on the agents' step budget
        self.seed, self.goal_index = seed, goal_index
        self.new_episode(first=True)

    def new_episode(self, first: bool = False) -> None:
        if not first:
            self.seed += 1
            self.goal_index = None
        options = {"goal_index": self.goal_index} if self.goal_index is not None else None
        self.env.reset(seed=self.seed, options=options)

    def act(self, action: str) -> bool:
        """Play ``action`` if it is available now; returns whether it was."""
        if self.env.terminated or self.env.truncated or not self.env.site.is_valid(action):
            return False
        self.env.step(action)
        return True

    def page_html(self) -> str:
        return render_html(self.env.site.page, interactive=True)


class _Handler(BaseHTTPRequestHandler):
    shop: Shop  # set on the subclass that make_server builds, with its lock and its per-connection timeout
    lock: threading.Lock
    server_version = "vlgym-webshop"

    def do_GET(self) -> None:
        try:
            with self.lock:  # connections are served concurrently; the episode is stepped by one at a time
                self._route()
        except ConnectionError:
            raise  # the client went away (a closed tab, a cancelled load): nobody to answer, LocalHTTPServer drops it
        except Exception:  # a bug must not leak a traceback to the page
            log.exception("webshop server error on %s", self.path)
            self._send(500, _ERROR_PAGE.format(code=500, message="Internal error."))

    def _route(self) -> None:
        url = urlsplit(self.path)
        path = url.path
        if path == "/":
            self._send(200, self.shop.page_html())
        elif path == "/search":
            query = " ".join(parse_qs(url.query).get("q", [""])[0].split())
            self.shop.act(f"search[{query}]")
            self._redirect()
        elif path.startswith("/click/") and path.count("/") == 2:
            self.shop.act(f"click[{unquote(path[len('/click/'):])}]")
            self._redirect()
        elif path == "/new":
            self.shop.new_episode()
            self._redirect()
        else:
            message = f"No page at {html_lib.escape(path)}."
            self._send(404, _ERROR_PAGE.format(code=404, message=message))

    def _redirect(self) -> None:
        self.send_response(303)
        self.send_header("Location", "/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, code: int, body: str) -> None:
        data = body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)


def make_server(host: str = "127.0.0.1", port: int = 3000, *, seed: int = 0, goal_index: int | None = None,
                timeout: float = 30.0, **env_kwargs: Any) -> LocalHTTPServer:
    """A ready HTTP server (``port=0`` picks a free port); call ``serve_forever()`` on it.

    ``timeout``: seconds a connection may stay silent (while a request is read or an answer sent).
    """
    handler = type("ShopHandler", (_Handler,), {"shop": Shop(seed, goal_index, **env_kwargs),
                                                 "lock": threading.Lock(), "timeout": timeout})
    return LocalHTTPServer((host, port), handler)


def serve(host: str = "127.0.0.1", port: int = 3000, **kwargs: Any) -> None:
    server = make_server(host, port, **kwargs)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {host}, reachable beyond this machine", file=sys.stderr)
    print(f"WebShop at http://{host}:{server.server_address[1]}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.RequestHandlerClass.shop.env.close()
