"""vlgym envs across processes and machines: the HTTP env server (``vlgym serve``) and its gymnasium client.

``gym.make(env_id, remote="http://host:port")`` gives a :class:`~vlgym.remote.client.RemoteEnv`; the server
is :func:`vlgym.remote.server.create_app`. Both need the ``remote`` extra (FastAPI, uvicorn, httpx).
"""
