"""A local fake of Twilio's Messages API, for development (`make run`) and tests: the official
client talks to it over HTTP exactly as to api.twilio.com (see notifications.channels.sms).

    python manage.py fake_twilio            # or: python -m notifications.fake_twilio --port 8055

What it does as Twilio does: Basic auth with the account SID and auth token; message create
(201, status "queued", Twilio's error JSON and codes for a bad or unreachable number: 21211
invalid, 21614 not a mobile, 21610 replied STOP; the magic test numbers +15005550001 and
+15005550009 too), fetch and list (To, From, DateSent> filters; DateSent is the moment a message left for the
carrier, empty while it is queued); status callbacks signed with
X-Twilio-Signature and carrying I-Twilio-Idempotency-Token (queued, sent, delivered, or the
outcome configured for a number). It has no Django in it.

Control endpoints for tests and demos (not Twilio's): GET /_fake/messages, POST /_fake/reset,
POST /_fake/config (JSON: delay_seconds, fail_next {count, status, code}, callbacks,
outcomes {number: [status, error code]}), POST /_fake/inbound (JSON: from, body, url) sends an
inbound SMS webhook, signed, to `url`.
"""

import argparse
import base64
import contextlib
import json
import re
import secrets
import threading
import time
import urllib.request
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode

from twilio.request_validator import RequestValidator

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages(?:/(?P<sid>SM\w+))?\.json$")
# Twilio's magic test numbers: https://www.twilio.com/docs/iam/test-credentials
MAGIC_ERRORS = {
    "+15005550001": (21211, "The 'To' number +15005550001 is not a valid phone number."),
    "+15005550009": (21614, "'To' number is not a valid mobile number"),
}


class FakeTwilio:
    """The fake's state and server; `start()` serves it from a thread (tests), `serve_forever()`
    from the calling one (the command)."""

    def __init__(self, *, account_sid: str, auth_token: str, host: str = "127.0.0.1", port: int = 0):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.lock = threading.Lock()
        self.reset()
        fake = self

        class Handler(_Handler):
            twilio = fake

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def reset(self) -> None:
        with getattr(self, "lock", threading.Lock()):
            self.messages: list[dict] = []
            self.opted_out: set[str] = set()
            self.delay_seconds = 0.0
            self.fail_next = {"count": 0, "status": 503, "code": 20503}
            self.callbacks = False
            self.outcomes: dict[str, tuple[str, int | None]] = {}
            self.callbacks_sent: list[dict] = []

    def start(self) -> "FakeTwilio":
        self._thread = threading.Thread(target=self.server.serve_forever, name="fake-twilio", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # What the API does.

    def create(self, form: dict[str, str]) -> tuple[int, dict]:
        to, body = form.get("To", ""), form.get("Body", "")
        with self.lock:
            if self.fail_next["count"] > 0:
                self.fail_next["count"] -= 1
                return _error(self.fail_next["status"], self.fail_next["code"], "Service unavailable, try again")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not body:
            return _error(400, 21602, "Message body is required.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _error(400, 21603, "A 'From' phone number is required.")
        if to in MAGIC_ERRORS:
            return _error(400, *MAGIC_ERRORS[to])
        if not E164.match(to):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to in self.opted_out:
            return _error(400, 21610, "Attempt to send to unsubscribed recipient")
        now = datetime.now(UTC)
        message = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": format_datetime(now),
            "date_sent": None,
            "date_updated": format_datetime(now),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": str(_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": "SM" + secrets.token_hex(16),
            "status": "queued",
            "subresource_uris": {},
            "to": to,
            "uri": "",
            # Not Twilio's: when the request arrived (epoch seconds), for benchmarks.
            "_received_at": time.time(),
            "_created": now,
            "_sent": None,
            "_status_callback": form.get("StatusCallback", ""),
        }
        message["uri"] = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message['sid']}.json"
        with self.lock:
            self.messages.append(message)
            delay, callbacks = self.delay_seconds, self.callbacks
        if callbacks and message["_status_callback"]:
            threading.Thread(target=self._callbacks, args=(message,), daemon=True).start()
        if delay:
            time.sleep(delay)  # the message exists at "Twilio"; the answer is late (a worker may die meanwhile)
        return 201, _public(message)

    def fetch(self, sid: str) -> tuple[int, dict]:
        with self.lock:
            found = next((m for m in self.messages if m["sid"] == sid), None)
        if found is None:
            return _error(404, 20404, f"The requested resource /Messages/{sid}.json was not found")
        return 200, _public(found)

    def list_messages(self, query: dict[str, str]) -> tuple[int, dict]:
        # As Twilio: DateSent filters on the moment a message left for the carrier, which a
        # message still queued does not have (it is never in a DateSent-filtered list).
        after = query.get("DateSent>") or query.get("DateSent>=") or ""
        since = _moment(after) if after else None
        with self.lock:
            found = [
                m
                for m in reversed(self.messages)
                if (not query.get("To") or m["to"] == query["To"])
                and (not query.get("From") or m["from"] == query["From"])
                and (since is None or (m["_sent"] is not None and m["_sent"] >= since))
            ]
        size = int(query.get("PageSize") or 50)
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        return 200, {
            "messages": [_public(m) for m in found[:size]],
            "end": min(len(found), size) - 1,
            "first_page_uri": uri,
            "next_page_uri": None,
            "page": 0,
            "page_size": size,
            "previous_page_uri": None,
            "start": 0,
            "uri": uri,
        }

    def signed_post(self, url: str, params: dict[str, str]) -> int:
        """POST `params` to `url` as Twilio does: form encoded, signed with the auth token."""
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        request = urllib.request.Request(
            url,
            data=urlencode(params).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
                "I-Twilio-Idempotency-Token": secrets.token_hex(16),
                "User-Agent": "TwilioProxy/1.1",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0

    def _callbacks(self, message: dict) -> None:
        final, code = self.outcomes.get(message["to"], ("delivered", None))
        for status in ("queued", "sent", final):
            time.sleep(0.05)
            params = {
                "AccountSid": self.account_sid,
                "ApiVersion": "2010-04-01",
                "From": message["from"] or "",
                "MessageSid": message["sid"],
                "MessageStatus": status,
                "SmsSid": message["sid"],
                "SmsStatus": status,
                "To": message["to"],
            }
            if status == final and code:
                params["ErrorCode"] = str(code)
            with self.lock:
                message["status"] = status
                if status == "sent":
                    message["_sent"] = datetime.now(UTC)
                    message["date_sent"] = format_datetime(message["_sent"])
            answer = self.signed_post(message["_status_callback"], params)
            with self.lock:
                self.callbacks_sent.append({"sid": message["sid"], "status": status, "answer": answer})

    def configure(self, settings: dict) -> None:
        with self.lock:
            if "delay_seconds" in settings:
                self.delay_seconds = float(settings["delay_seconds"])
            if "fail_next" in settings:
                self.fail_next = {"status": 503, "code": 20503, **settings["fail_next"]}
            if "callbacks" in settings:
                self.callbacks = bool(settings["callbacks"])
            if "outcomes" in settings:
                self.outcomes = {number: tuple(outcome) for number, outcome in settings["outcomes"].items()}
            if "opted_out" in settings:
                self.opted_out = set(settings["opted_out"])

    def sent(self) -> list[dict]:
        with self.lock:
            return [_public(m) | {"received_at": m["_received_at"]} for m in self.messages]


class _Handler(BaseHTTPRequestHandler):
    twilio: FakeTwilio
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:  # quiet: tests and make run read their own logs
        pass

    def do_GET(self) -> None:
        path, _, query_string = self.path.partition("?")
        if path == "/_fake/messages":
            return self._answer(200, {"messages": self.twilio.sent()})
        if not self._authorised(path):
            return None
        query = {key: values[-1] for key, values in parse_qs(query_string).items()}
        match = MESSAGES.match(path)
        if match and match["sid"]:
            return self._answer(*self.twilio.fetch(match["sid"]))
        if match:
            return self._answer(*self.twilio.list_messages(query))
        return self._answer(*_error(404, 20404, "Not found"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        path = self.path.partition("?")[0]
        if path.startswith("/_fake/"):
            return self._control(path, raw)
        if not self._authorised(path):
            return None
        match = MESSAGES.match(path)
        if not match or match["sid"]:
            return self._answer(*_error(404, 20404, "Not found"))
        form = {key: values[-1] for key, values in parse_qs(raw, keep_blank_values=True).items()}
        return self._answer(*self.twilio.create(form))

    def _control(self, path: str, raw: str) -> None:
        data = json.loads(raw or "{}")
        if path == "/_fake/reset":
            self.twilio.reset()
        elif path == "/_fake/config":
            self.twilio.configure(data)
        elif path == "/_fake/inbound":
            params = {
                "AccountSid": self.twilio.account_sid,
                "MessageSid": "SM" + secrets.token_hex(16),
                "From": data["from"],
                "To": data.get("to", ""),
                "Body": data["body"],
                "NumMedia": "0",
            }
            return self._answer(200, {"answer": self.twilio.signed_post(data["url"], params)})
        else:
            return self._answer(404, {"error": "unknown control"})
        return self._answer(200, {"ok": True})

    def _authorised(self, path: str) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.twilio.account_sid}:{self.twilio.auth_token}".encode()).decode()
        match = MESSAGES.match(path)
        if self.headers.get("Authorization") == expected and (not match or match["account"] == self.twilio.account_sid):
            return True
        self._answer(*_error(401, 20003, "Authenticate"))
        return False

    def _answer(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _error(status: int, code: int, message: str) -> tuple[int, dict]:
    return status, {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _moment(value: str) -> datetime:
    """A DateSent filter value: a day (2026-11-02) or a moment (2026-11-02T09:00:00Z)."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _public(message: dict) -> dict:
    return {key: value for key, value in message.items() if not key.startswith("_")}


def _segments(body: str) -> int:
    # The fake's estimate; notifications.sms_length has the exact count.
    single, part = (160, 153) if body.isascii() else (70, 67)
    return 1 if len(body) <= single else -(-len(body) // part)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m notifications.fake_twilio", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8055)
    parser.add_argument("--account-sid", default="AC" + "0" * 32)
    parser.add_argument("--auth-token", default="fake-twilio-auth-token")
    parser.add_argument("--callbacks", action="store_true", help="send status callbacks (queued, sent, delivered)")
    options = parser.parse_args(argv)
    fake = FakeTwilio(
        account_sid=options.account_sid, auth_token=options.auth_token, host=options.host, port=options.port
    )
    fake.callbacks = options.callbacks
    print(f"Fake Twilio Messages API on {fake.url} (account {options.account_sid})", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        fake.serve_forever()


if __name__ == "__main__":
    main()
