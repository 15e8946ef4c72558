"""The site served over ASGI (HTTP and websockets, as in production) from a thread of the test
process, on the test database: what live_server (WSGI, no websockets) cannot show."""

import socket
import threading
import time
from dataclasses import dataclass


@dataclass
class AsgiServer:
    url: str
    server: object
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def asgi_server_start() -> AsgiServer:
    import uvicorn
    from channels.routing import ProtocolTypeRouter
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    from config.asgi import application as production

    # The production routes, and static files as runserver and live_server serve them.
    application = ProtocolTypeRouter(
        {
            "http": ASGIStaticFilesHandler(get_asgi_application()),
            "websocket": production.application_mapping["websocket"],
        }
    )

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None
    thread = threading.Thread(target=server.run, daemon=True, name="asgi-test-server")
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the ASGI test server did not start")
        time.sleep(0.05)
    return AsgiServer(url=f"http://127.0.0.1:{port}", server=server, thread=thread)
