"""A WSGI app served on a real local port from a background thread: how tests run a stand-in (and
the small receivers that catch its notifications), so the SDKs talk HTTP to it as to the provider."""
from __future__ import annotations

import threading

from werkzeug.serving import BaseWSGIServer, make_server


class BackgroundServer:
    """`app` on 127.0.0.1 at a free port (`url`), answering from threads until `stop()`."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"standin {self.url}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> BackgroundServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
