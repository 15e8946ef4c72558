"""The ASGI application's HTTP (config.asgi): Django's WSGI handler on a fixed pool of threads in
each process, the websockets beside it on the event loop.

Django's own ASGI handler runs each request's synchronous code (every view and middleware of
this project) in a thread made for that request. A thread that lives for one request cannot keep
a database connection, so every request opened one (CONN_MAX_AGE had to stay 0), and a page that
is one cached read cost a new PostgreSQL session: measured here, 2 uvicorn processes served the
portal order page at 122 requests/s with p95 207 ms, against 750/s and 47 ms through uvicorn's
WSGI interface. Here a request runs on one of WEB_THREADS long-lived threads, each keeping its
connection (CONN_MAX_AGE), its prepared statements (orders.prepared) and its cache client.

The pool is small on purpose: the threads of a process share one interpreter lock, and a thread
back from the database waits for it behind the others. Fewer threads serve the same requests
with less waiting; the requests beyond them wait on the event loop, in order.

A response is built whole in its thread and sent by the event loop; a streaming one (an
evidence file) is read whole into a file first (memory, then disk), so that a slow reader holds
no thread. The response is closed in its thread, as WSGI servers do: Django's end of request
(its connections' upkeep) runs where the connections live. A body larger than
WEB_MAX_BODY_BYTES is refused (413) before it is stored. How many requests a process takes at
once is the server's to bound (uvicorn's --limit-concurrency answers 503 past it).
"""

import asyncio
import contextlib
import io
import itertools
import json
import os
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import SyncToAsync
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import trans_real


class ThreadPoolHTTP:
    """An ASGI application (scope type "http") serving the WSGI application `app` on `threads`
    threads."""

    def __init__(self, app, *, threads: int) -> None:
        self.app = app
        self.threads = threads
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="http")

    def connections_close(self) -> None:
        """Close every thread's database connections (a test server that stops before its
        database is dropped). Each thread takes one closing task: they wait for each other, so
        none takes two; a thread busy for longer than the wait keeps its connection."""
        from django.db import connections

        together = threading.Barrier(self.threads)

        def close_mine() -> None:
            with contextlib.suppress(threading.BrokenBarrierError):
                together.wait(timeout=30)
            connections.close_all()

        for done in [self.executor.submit(close_mine) for _thread in range(self.threads)]:
            done.result()

    def close(self) -> None:
        """connections_close, then stop the threads."""
        self.connections_close()
        self.executor.shutdown(wait=True)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"ThreadPoolHTTP serves HTTP, not {scope['type']!r}")
        try:
            body = await _body_read(scope, receive)
        except BodyTooLarge:
            await _too_large(scope, send)
            return
        if body is None:  # the client left before its request was whole
            return
        loop = asyncio.get_running_loop()
        gone = threading.Event()
        watcher = asyncio.create_task(_disconnect_watch(receive, gone))
        try:
            answer = await loop.run_in_executor(self.executor, self._respond, scope, body, loop, gone)
        finally:
            watcher.cancel()
        if answer is None:  # the client left while the request waited for a thread: not run
            return
        status, headers, content = answer
        if isinstance(content, bytes):
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": content})
            return
        try:  # a streamed response, kept in a file: sent from here, the thread is free
            await send({"type": "http.response.start", "status": status, "headers": headers})
            while chunk := content.read(STREAM_CHUNK_BYTES):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            content.close()

    def _respond(self, scope: dict, body, loop, gone: threading.Event):
        """In a thread of the pool: (status, headers, body as bytes or, for a streaming response,
        a file holding it); None when the client left before the request's turn came."""
        if gone.is_set():
            body.close()
            return None
        # As in asgiref's SyncToAsync: async_to_sync in a view (a channel layer's group_send)
        # runs on this process's event loop, not on a new loop of its own.
        SyncToAsync.threadlocal.main_event_loop = loop
        SyncToAsync.threadlocal.main_event_loop_pid = os.getpid()
        started: dict = {}
        written: list[bytes] = []  # what the application gave write() (PEP 3333), before its body

        def start_response(status: str, headers, exc_info=None):
            started["status"] = int(status.split(" ", 1)[0])
            started["headers"] = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
            return written.append

        content = None
        try:
            result = self.app(wsgi_environ(scope, body), start_response)
            try:
                if not getattr(result, "streaming", False):
                    content = b"".join(result)
                    content = b"".join([*written, content]) if written else content
                else:  # read whole here: a slow reader must not hold a thread of the pool
                    content = tempfile.SpooledTemporaryFile(max_size=STREAM_MEMORY_BYTES, mode="w+b")  # noqa: SIM115
                    for chunk in itertools.chain(written, result):
                        content.write(chunk)
                    content.seek(0)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            if not started:
                raise RuntimeError("the WSGI application returned without calling start_response")
        except BaseException:
            if content is not None and not isinstance(content, bytes):
                content.close()
            raise
        finally:
            body.close()
        return started["status"], started["headers"], content


# A streamed response (an evidence file) is kept in memory up to this size, else on disk, and
# sent in parts of this size.
STREAM_MEMORY_BYTES = 4 * 1024 * 1024
STREAM_CHUNK_BYTES = 64 * 1024


class BodyTooLarge(Exception):
    pass


async def _disconnect_watch(receive, gone: threading.Event) -> None:
    """Sets `gone` when the client disconnects (after its body, nothing else arrives): requests
    that clients gave up on while they waited for a thread (a backlog, retries) are not run."""
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


async def _body_read(scope: dict, receive):
    """The request's body as a file, or None when the client disconnected first; BodyTooLarge
    past WEB_MAX_BODY_BYTES (as declared, or as it comes). A body in one message (every GET)
    stays in memory; a longer one spills to disk past Django's in-memory upload size, as
    Django's own ASGI handler does."""
    limit = settings.WEB_MAX_BODY_BYTES
    declared = dict(scope.get("headers", ())).get(b"content-length", b"")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    message = await receive()
    if message["type"] == "http.disconnect":
        return None
    if not message.get("more_body", False):
        if len(message.get("body", b"")) > limit:
            raise BodyTooLarge
        return io.BytesIO(message.get("body", b""))
    body = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b")  # noqa: SIM115
    received = 0
    while True:
        part = message.get("body", b"")
        received += len(part)
        if received > limit:
            body.close()
            raise BodyTooLarge
        body.write(part)
        if not message.get("more_body", False):
            break
        message = await receive()
        if message["type"] == "http.disconnect":
            body.close()
            return None
    body.seek(0)
    return body


async def _too_large(scope: dict, send) -> None:
    """413 naming the limit: JSON under /api/ (as the API's and the webhooks' own errors), else
    text."""
    with translation.override(_language_asked(scope)):
        message = _("The request is larger than %(limit)s bytes.") % {"limit": settings.WEB_MAX_BODY_BYTES}
    if scope["path"].startswith("/api/"):
        content_type, body = b"application/json", json.dumps({"error": message}).encode()
    else:
        content_type, body = b"text/plain; charset=utf-8", message.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", content_type), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _language_asked(scope: dict) -> str:
    """The language of the request's Accept-Language that the site speaks (no request object
    exists yet for Django's own negotiation), else the default."""
    header = dict(scope.get("headers", ())).get(b"accept-language", b"").decode("latin-1")
    for code, _quality in trans_real.parse_accept_lang_header(header):
        with contextlib.suppress(LookupError):
            return translation.get_supported_language_variant(code)
    return settings.LANGUAGE_CODE


def wsgi_environ(scope: dict, body) -> dict:
    """The WSGI environ of an ASGI HTTP scope (PEP 3333: strings hold the bytes as latin-1)."""
    script_name = scope.get("root_path", "").encode("utf-8").decode("latin-1")
    path_info = scope["path"].encode("utf-8").decode("latin-1")
    if script_name and path_info.startswith(script_name):
        path_info = path_info[len(script_name) :]
    server = scope.get("server") or ("localhost", 80)
    body.seek(0, io.SEEK_END)
    length = body.tell()
    body.seek(0)
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"] = client[0]
        environ["REMOTE_PORT"] = str(client[1])
    for raw_name, raw_value in scope.get("headers", ()):
        if b"_" in raw_name:  # X_Forwarded_For would pass for X-Forwarded-For: dropped, as WSGI servers do
            continue
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        key = name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"
        value = raw_value.decode("latin-1")
        if key in environ:  # a header sent twice: one value, comma-separated (RFC 9110 5.3)
            value = f"{environ[key]}; {value}" if key == "HTTP_COOKIE" else f"{environ[key]},{value}"
        environ[key] = value
    # What the server received is the body (a chunked request has no Content-Length).
    environ["CONTENT_LENGTH"] = str(length)
    return environ
