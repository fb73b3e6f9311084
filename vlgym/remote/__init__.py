"""vlgym envs across processes and machines: the HTTP env server (``vlgym serve``) and its gymnasium client.

``gym.make(env_id, remote="http://host:port")`` gives a :class:`~vlgym.remote.client.RemoteEnv`; the server
is :func:`vlgym.remote.server.create_app`. Both need the ``remote`` extra (FastAPI, uvicorn, httpx).
"""

#: The environment variable the client and ``vlgym serve`` read the auth token from.
TOKEN_ENV = "VLGYM_TOKEN"
