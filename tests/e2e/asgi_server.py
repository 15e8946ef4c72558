"""A real ASGI server for browser tests that need websockets: uvicorn serving the project's
ASGI application (HTTP on its pool of threads, config.http_threads, with static files as
runserver and live_server serve them; websockets through the Channels routes) in a thread of the
test process, against the test database, like pytest-django's live_server."""

import socket
import threading
import time

import uvicorn
from asgiref.sync import SyncToAsync
from channels.routing import ProtocolTypeRouter
from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.wsgi import get_wsgi_application
from django.db import connections

from config.http_threads import ThreadPoolHTTP


class AsgiServer:
    def __init__(self) -> None:
        from config.asgi import application

        # A pool of its own, closed with the server: its threads' connections go before the
        # test database does.
        self.http = ThreadPoolHTTP(get_wsgi_application(), threads=settings.WEB_THREADS)
        self.app = ProtocolTypeRouter(
            {
                "http": ASGIStaticFilesHandler(self.http),
                "websocket": application.application_mapping["websocket"],
            }
        )
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", ws="websockets"
        )
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="asgi-test-server")

    def start(self) -> "AsgiServer":
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.http.close()
        # The websockets' queries run on asgiref's one thread (channels' database_sync_to_async),
        # whose connection persists too (CONN_MAX_AGE): closed there, before the database goes.
        SyncToAsync.single_thread_executor.submit(connections.close_all).result()
