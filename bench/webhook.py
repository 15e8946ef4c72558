"""The benchmark's HTTP client: signed POSTs to the webhook from a pool of threads, each with its
own keep-alive connection to 127.0.0.1."""

import http.client
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from integrations.signatures import signature_header


def post_all(*, port: int, source_code: str, secret: str, bodies: list[bytes], threads: int) -> tuple[Counter, float]:
    """POST every body; returns the count of each response status and the seconds it took."""
    local = threading.local()
    path = f"/api/v1/inbound/{source_code}/"

    def post(body: bytes) -> int:
        for attempt in range(3):
            if getattr(local, "connection", None) is None:
                local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            signature = signature_header(secret=secret, source_code=source_code, body=body)
            headers = {"Content-Type": "application/json", "X-Signature": signature}
            try:
                local.connection.request("POST", path, body=body, headers=headers)
                response = local.connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                # The server closed the kept-alive connection: open a new one and send again.
                local.connection.close()
                local.connection = None
                if attempt == 2:
                    return 0
                continue
            if response.will_close:
                local.connection.close()
                local.connection = None
            return response.status
        return 0

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        statuses = Counter(pool.map(post, bodies))
    return statuses, time.perf_counter() - started
