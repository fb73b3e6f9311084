"""The HTTP server of vlgym's local pages (``vlgym webshop serve``, ``vlgym view``): the standard library's."""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer


class LocalHTTPServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` (a thread per connection, none of which holds up exit) that drops a client that left
    before its answer (a closed tab, a cancelled image load) without a traceback; other errors print as usual.

    >>> from http.server import BaseHTTPRequestHandler
    >>> server = LocalHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    >>> server.server_address[0]
    '127.0.0.1'
    >>> server.server_close()
    """

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)
