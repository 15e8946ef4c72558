"""The ASGI application's HTTP (config.http_threads): Django's WSGI handler on a fixed pool of
threads; requests as a server (uvicorn) hands them over, in ASGI messages."""

import asyncio
import hashlib
import json
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from django.core.wsgi import get_wsgi_application
from django.db import connection

from config.asgi import application
from config.http_threads import ThreadPoolHTTP
from integrations.models import InboundMessage
from integrations.signatures import signature_header
from tests.integrations.conftest import SECRET


@pytest.fixture
def production_http():
    """The ASGI application of config.asgi; its pool's connections closed afterwards (the test
    database is dropped at the end)."""
    yield application
    from config.asgi import http

    http.connections_close()


def _serve(app, *, method="GET", path="/", headers=(), parts=(b"",), query=b"", gone_after=None) -> list[dict]:
    """What `app` sent for a request whose body arrives in `parts` (a client that leaves after
    `gone_after` parts disconnects instead)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("203.0.113.9", 50123),
        "server": ("127.0.0.1", 8000),
    }
    messages = [
        {"type": "http.request", "body": part, "more_body": number < len(parts) - 1}
        for number, part in enumerate(parts)
    ]
    if gone_after is not None:
        messages = [*messages[:gone_after], {"type": "http.disconnect"}]
    sent: list[dict] = []

    async def receive():
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # a request asks for nothing more once its body is read

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def _response(sent: list[dict]) -> tuple[int, dict, bytes]:
    start = sent[0]
    assert start["type"] == "http.response.start"
    assert sent[-1].get("more_body", False) is False
    body = b"".join(message.get("body", b"") for message in sent[1:])
    return start["status"], {name.decode(): value.decode() for name, value in start["headers"]}, body


@pytest.mark.django_db(transaction=True)
def test_a_page_served_by_the_asgi_application_is_djangos_page(production_http):
    status, headers, body = _response(
        _serve(production_http, path="/portal/login/", headers=[(b"accept-language", b"de")])
    )

    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Language"] == "de"
    assert b'name="password"' in body
    assert "csrftoken=" in headers["Set-Cookie"]


@pytest.mark.django_db(transaction=True)
def test_a_webhook_body_sent_in_parts_without_a_length_is_stored_whole(make_source, production_http):
    """A sender that streams its body (chunked transfer encoding, no Content-Length): the message
    stored is the whole body, as sent."""
    make_source("crm-json")
    body = json.dumps(
        {
            "message_id": "chunked-1",
            "statuses": [{"order": "SO-404", "line": "10", "status": "shipped", "occurred_at": "2026-11-02T10:00:00Z"}],
        }
    ).encode()
    signature = signature_header(secret=SECRET, source_code="crm-json", body=body)
    headers = [(b"content-type", b"application/json"), (b"x-signature", signature.encode())]
    parts = (body[:10], body[10:40], body[40:])

    status, _headers, answer = _response(
        _serve(production_http, method="POST", path="/api/v1/inbound/crm-json/", headers=headers, parts=parts)
    )

    assert status == 202, answer
    stored = InboundMessage.objects.get(receipt=json.loads(answer)["id"])
    assert stored.raw == body.decode() and stored.content_hash == hashlib.sha256(body).hexdigest()


def _environ_echo(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    shown = {key: value for key, value in environ.items() if isinstance(value, str)}
    shown["body"] = environ["wsgi.input"].read().decode()
    return [json.dumps(shown).encode()]


def test_a_header_written_with_underscores_is_not_taken_for_its_dashed_name():
    """X_Forwarded_For must not pass for X-Forwarded-For (nor overwrite it): dropped, as WSGI
    servers drop it."""
    pool = ThreadPoolHTTP(_environ_echo, threads=1)
    headers = [(b"x-forwarded-for", b"198.51.100.1"), (b"x_forwarded_for", b"10.0.0.1")]

    _status, _headers, body = _response(_serve(pool, headers=headers))
    pool.close()

    assert json.loads(body)["HTTP_X_FORWARDED_FOR"] == "198.51.100.1"


def test_the_request_reaches_the_application_as_the_client_sent_it():
    pool = ThreadPoolHTTP(_environ_echo, threads=1)
    headers = [(b"cookie", b"a=1"), (b"cookie", b"b=2"), (b"accept", b"text/html"), (b"accept", b"*/*")]

    _status, _headers, body = _response(
        _serve(pool, method="POST", path="/s/caf\u00e9/", query=b"q=1", headers=headers, parts=(b"x=1", b"&y=2"))
    )
    pool.close()
    environ = json.loads(body)

    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["PATH_INFO"] == "/s/caf\u00e9/".encode().decode("latin-1")  # PEP 3333
    assert environ["QUERY_STRING"] == "q=1"
    assert environ["HTTP_COOKIE"] == "a=1; b=2"
    assert environ["HTTP_ACCEPT"] == "text/html,*/*"
    assert environ["REMOTE_ADDR"] == "203.0.113.9"
    assert environ["CONTENT_LENGTH"] == "7" and environ["body"] == "x=1&y=2"


class _Stream:
    """A streaming response (as Django's StreamingHttpResponse and FileResponse are)."""

    streaming = True

    def __init__(self) -> None:
        self.closed_in = ""

    def __iter__(self):
        yield b"one,"
        yield b""
        yield b"two,"
        yield b"three"

    def close(self) -> None:
        self.closed_in = threading.current_thread().name


def test_a_streaming_response_arrives_whole_and_is_closed_in_its_thread():
    stream = _Stream()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/csv")])
        return stream

    pool = ThreadPoolHTTP(app, threads=1)
    sent = _serve(pool)
    pool.close()

    assert _response(sent) == (200, {"Content-Type": "text/csv"}, b"one,two,three")
    assert stream.closed_in.startswith("http")  # Django's end of request runs where its connections live


def test_an_application_that_writes_through_write_sends_that_before_its_body():
    """PEP 3333's write() callable (older WSGI applications): what it was given comes first."""

    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written, ")
        return [b"returned"]

    pool = ThreadPoolHTTP(app, threads=1)
    sent = _serve(pool)
    pool.close()

    assert _response(sent) == (200, {"Content-Type": "text/plain"}, b"written, returned")


def test_a_client_that_never_reads_its_download_holds_no_thread():
    """One thread: a download whose client stops reading, then a page; the page is served."""

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        if environ["PATH_INFO"] == "/download/":
            stream = _Stream()
            return stream
        return [b"page"]

    pool = ThreadPoolHTTP(app, threads=1)

    async def request(path: str, send) -> None:
        scope = {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": []}
        messages = [{"type": "http.request", "body": b""}]

        async def receive():
            if messages:
                return messages.pop(0)
            await asyncio.sleep(3600)

        await pool(scope, receive, send)

    async def both() -> list[dict]:
        stuck = asyncio.Event()

        async def never_read(message) -> None:
            if message["type"] == "http.response.body":
                await stuck.wait()  # the client's window is full: sending waits

        page: list[dict] = []

        async def keep(message) -> None:
            page.append(message)

        download = asyncio.create_task(request("/download/", never_read))
        await asyncio.sleep(0.2)
        await asyncio.wait_for(request("/page/", keep), timeout=5)
        download.cancel()
        return page

    page = asyncio.run(both())
    pool.close()

    assert _response(page) == (200, {"Content-Type": "application/octet-stream"}, b"page")


def _recording(called: list[str]):
    """A WSGI application that notes each path it is asked for."""

    def app(environ, start_response):
        called.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b""]

    return app


def test_a_body_over_the_limit_is_refused_413_and_never_reaches_the_application(settings):
    settings.WEB_MAX_BODY_BYTES = 10
    called: list[str] = []
    pool = ThreadPoolHTTP(_recording(called), threads=1)
    declared = _serve(pool, method="POST", headers=[(b"content-length", b"11")], parts=(b"x" * 11,))
    streamed = _serve(pool, method="POST", parts=(b"x" * 6, b"x" * 6))
    in_one_part = _serve(pool, method="POST", parts=(b"x" * 11,))  # chunked, no length, all at once
    german = _serve(pool, method="POST", headers=[(b"accept-language", b"de-CH,de;q=0.9")], parts=(b"x" * 11,))
    within = _serve(pool, method="POST", parts=(b"x" * 5, b"x" * 5))
    pool.close()

    assert _response(declared)[0] == _response(streamed)[0] == _response(in_one_part)[0] == 413
    assert _response(declared)[2] == b"The request is larger than 10 bytes."
    assert _response(german)[2] == "Die Anfrage ist größer als 10 Bytes.".encode()
    assert _response(within)[0] == 200 and called == ["/"]


def test_a_request_whose_client_left_while_it_waited_for_a_thread_is_not_run():
    """One thread, busy; a login posted behind it whose client gives up: when the thread is
    free, the abandoned request is skipped (a backlog of retries is not worked off twice)."""
    ran: list[str] = []
    release = threading.Event()

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/slow/":
            release.wait(timeout=10)
        ran.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b""]

    pool = ThreadPoolHTTP(app, threads=1)

    async def scenario() -> None:
        slow = asyncio.create_task(pool(_scope("/slow/"), _one_message([_request()]), _discard))
        await asyncio.sleep(0.1)
        left = asyncio.Event()

        async def receive():
            if not left.is_set():
                left.set()
                return _request()
            return {"type": "http.disconnect"}  # the client closed its connection

        abandoned = asyncio.create_task(pool(_scope("/portal/login/"), receive, _discard))
        await asyncio.sleep(0.1)
        release.set()
        await asyncio.wait_for(asyncio.gather(slow, abandoned), timeout=10)

    asyncio.run(scenario())
    pool.close()

    assert ran == ["/slow/"]


def test_an_api_body_over_the_limit_is_refused_in_json(settings):
    settings.WEB_MAX_BODY_BYTES = 10
    pool = ThreadPoolHTTP(_environ_echo, threads=1)

    status, headers, body = _response(_serve(pool, method="POST", path="/api/v1/inbound/crm/", parts=(b"x" * 11,)))
    pool.close()

    assert status == 413 and headers["content-type"] == "application/json"
    assert json.loads(body) == {"error": "The request is larger than 10 bytes."}


def _scope(path: str) -> dict:
    return {"type": "http", "method": "POST", "path": path, "query_string": b"", "headers": []}


def _request() -> dict:
    return {"type": "http.request", "body": b"", "more_body": False}


def test_a_view_that_calls_async_code_runs_it_on_the_servers_event_loop():
    """A channel layer's group_send from a view (async_to_sync) reaches the sockets this process
    serves at once: it runs on the server's loop, not on a loop of its own."""
    loops = []

    async def where() -> None:
        loops.append(asyncio.get_running_loop())

    def app(environ, start_response):
        async_to_sync(where)()
        start_response("200 OK", [])
        return [b""]

    pool = ThreadPoolHTTP(app, threads=1)

    async def serve() -> asyncio.AbstractEventLoop:
        await pool(
            {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": []},
            _one_message([{"type": "http.request", "body": b""}]),
            _discard,
        )
        return asyncio.get_running_loop()

    server_loop = asyncio.run(serve())
    pool.close()

    assert loops == [server_loop]


def _one_message(messages):
    async def receive():
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)

    return receive


async def _discard(message) -> None:
    return None


def test_a_client_gone_before_its_body_was_whole_never_reaches_the_application():
    called: list[str] = []
    pool = ThreadPoolHTTP(_recording(called), threads=1)
    sent = _serve(pool, method="POST", path="/api/v1/inbound/x/", parts=(b"{", b"}"), gone_after=1)
    pool.close()

    assert sent == [] and called == []


def _server_process() -> int:
    """This thread's PostgreSQL server process (its connection opened if it had none)."""
    from django.db import connection as mine

    mine.ensure_connection()
    return mine.connection.info.backend_pid


def _gone(pids: list[int]) -> bool:
    """Whether no session of `pids` is left (a closed connection's server process ends soon
    after, not at once)."""
    deadline = time.monotonic() + 5
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids])
            if cursor.fetchone()[0] == 0:
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_a_thread_keeps_its_database_connection_from_one_request_to_the_next(settings):
    """The pool's point: a page read is not a new database session (CONN_MAX_AGE)."""
    if connection.vendor != "postgresql":
        pytest.skip("the session's server process is PostgreSQL's")
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0  # the default
    pool = ThreadPoolHTTP(get_wsgi_application(), threads=1)

    def webhook_answered() -> int:
        return _response(_serve(pool, method="POST", path="/api/v1/inbound/nobody/", parts=(b"{}",)))[0]

    assert webhook_answered() == 404  # an unknown source: read from the database
    first = pool.executor.submit(_server_process).result()
    assert webhook_answered() == 404
    second = pool.executor.submit(_server_process).result()
    pool.close()

    assert first == second
    assert _gone([first])


@pytest.mark.django_db(transaction=True)
def test_closing_the_pool_closes_every_threads_connection():
    """A test server's pool closed before the test database is dropped: no session of any of
    its threads is left (one would stop the database from being dropped)."""
    if connection.vendor != "postgresql":
        pytest.skip("the sessions are PostgreSQL's")
    pool = ThreadPoolHTTP(get_wsgi_application(), threads=2)
    both = threading.Barrier(2)

    def opened() -> int:
        both.wait(timeout=10)  # each thread of the pool opens one
        return _server_process()

    pids = [done.result() for done in [pool.executor.submit(opened) for _ in range(2)]]
    assert len(set(pids)) == 2

    pool.close()

    assert _gone(pids)
