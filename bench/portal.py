"""The portal's reads and live pushes, measured against real servers on this machine:

1. page p95 at 16 concurrent clients: the portal order page (a customer's session) and the
   status-link page of an order of 4 lines (demo-like, with 30-odd timeline entries), and the
   portal page of an order of 300 lines; each client keeps its connection open, as a browser;
2. 1,000 portal websockets open on one order (a customer's session, 2 uvicorn ASGI processes,
   the Redis channel layer), a real celery worker delivering the outbox: for each status change,
   the time from its commit (the service returned) to its arrival on every socket; p50/p95/max,
   and the bytes a push carries beside the whole order's view.
Targets of the issue: pages p95 <= 50 ms, the 300-line order < 150 ms, pushes p95 <= 1 s.
"""

import asyncio
import http.client
import http.cookies
import json
import os
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import processes

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
WALK = ("released", "allocated", "picking", "awaiting_kitting", "packed", "shipped", "in_transit")
TARGETS = {"page_p95_ms": 50, "large_order_p95_ms": 150, "push_p95_ms": 1000}


def portal_orders_create(run: str) -> dict:
    """A customer with a portal session, an order of 4 lines walked to in transit (28 facts) and
    one of 300 lines, and a status link to the first; through the core's services."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from guardian.shortcuts import assign_perm

    from orders.models import Account, Order, OrderLine, Part, Region, Site
    from orders.services import Actor, Provenance, apply_status_update
    from orders.services.events import line_start_record
    from portal.models import LinkAudience
    from portal.services.links import status_link_issue

    region, _ = Region.objects.get_or_create(code="bench", defaults={"name": "Benchmark"})
    site, _ = Site.objects.get_or_create(
        code="bench-dc", defaults={"name": "Benchmark DC", "kind": Site.Kind.DISTRIBUTION_CENTRE, "region": region}
    )
    account = Account.objects.create(number=f"BP{run}", name="Portal benchmark customer", region=region, country="NL")
    part, _ = Part.objects.get_or_create(
        number="BENCH-PART", defaults={"description": "Benchmark part", "category": "bench", "criticality": "B"}
    )
    source = Actor.integration("bench-portal")

    def order_with(lines: int, number: str, *, walk: tuple[str, ...]) -> Order:
        order = Order.objects.create(number=number, account=account, region=region, customer_reference=f"PO-{number}")
        created = OrderLine.objects.bulk_create(
            OrderLine(order=order, number=str(10 * (n + 1)), part=part, quantity=1 + n % 3, site=site)
            for n in range(lines)
        )
        for line in created:
            line_start_record(line=line, occurred_at=START, actor=source, provenance=Provenance())
            for step, status in enumerate(walk):
                apply_status_update(
                    line_id=line.pk,
                    status=status,
                    occurred_at=START + timedelta(minutes=step + 1),
                    actor=source,
                    provenance=Provenance(source_system="bench-portal"),
                    publish=False,
                )
        return Order.objects.get(pk=order.pk)

    small = order_with(4, f"BP{run}-4", walk=WALK)
    large = order_with(300, f"BP{run}-300", walk=WALK[:3])
    user = get_user_model().objects.create(username=f"bench-customer-{run}")
    assign_perm("orders.follow_account_orders", user, account)
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session.update(
        {
            "_auth_user_id": str(user.pk),
            "_auth_user_backend": settings.AUTHENTICATION_BACKENDS[0],
            "_auth_user_hash": user.get_session_auth_hash(),
        }
    )
    session.create()
    link = status_link_issue(order=small, audience=LinkAudience.CUSTOMER)
    return {"small": small, "large": large, "session": session.session_key, "link_path": link.path}


def _page_load(port: int, path: str, *, cookie: str, clients: int, requests: int, server_group: int) -> dict:
    """`requests` GETs of `path` shared by `clients` threads, each with one kept-alive connection
    and, as a browser, the cookies the server set on its first answer (the CSRF cookie: without
    it each answer makes and sets a new secret); with the CPU time the server's processes
    (process group `server_group`) spent on each request, a figure that holds when other work
    shares the machine."""
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    per_client = max(1, requests // clients)
    started = threading.Barrier(clients + 1)

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        jar = http.cookies.SimpleCookie(cookie)
        try:
            # The first visit, not timed: the page as a browser's first open, and its cookies.
            connection.request("GET", path, headers={"Cookie": cookie, "Accept-Language": "en"})
            response = connection.getresponse()
            response.read()
            for header in response.headers.get_all("Set-Cookie") or ():
                jar.load(header)
        finally:
            started.wait()
        headers = {
            "Cookie": "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items()),
            "Accept-Language": "en",
        }
        mine, bad = [], []
        for _ in range(per_client):
            begun = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            mine.append(time.perf_counter() - begun)
            if response.status != 200 or not body:
                bad.append(response.status)
        connection.close()
        with lock:
            latencies.extend(mine)
            failures.extend(bad)

    # Requests first, each on a connection of its own so that every server process gets some:
    # the read model and the page are built (cached), and each process has loaded its code,
    # before the clock starts.
    for _ in range(clients):
        warm = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        warm.request("GET", path, headers={"Cookie": cookie, "Accept-Language": "en"})
        warm.getresponse().read()
        warm.close()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    started.wait()
    cpu_before = processes.group_cpu_seconds(server_group)
    client_before = time.process_time()
    begun = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - begun
    cpu = processes.group_cpu_seconds(server_group) - cpu_before
    client_cpu = time.process_time() - client_before
    return _stats(latencies) | {
        "requests": len(latencies),
        "failed": len(failures),
        "per_second": round(len(latencies) / seconds, 1),
        "server_cpu_ms": round(cpu / max(1, len(latencies)) * 1000, 2),
        # The clients (this process) share the machine's CPUs with the server.
        "client_cpu_ms": round(client_cpu / max(1, len(latencies)) * 1000, 2),
    }


def _stats(seconds: list[float]) -> dict:
    if not seconds:
        return {"p50_ms": None, "p95_ms": None, "max_ms": None}
    ordered = sorted(seconds)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def pages_scenario(
    *, setup: dict, env: dict, logs: Path, server: str, web_processes: int, clients: int, requests: int
) -> dict:
    from django.conf import settings

    port = processes.free_port()
    web_env = {**env, "CONN_MAX_AGE": "60"}
    web = processes.start_web_server(
        server, port=port, processes=web_processes, env=web_env, log=logs / "portal-web.log"
    )
    cookie = f"sessionid={setup['session']}"
    try:
        return {
            "server": server,
            "processes": web_processes,
            # HTTP threads per process: config.http_threads' pool, or uvicorn's own for WSGI.
            "threads": settings.WEB_THREADS if server == "uvicorn-asgi" else 10,
            "clients": clients,
            "portal order page (4 lines)": _page_load(
                port,
                f"/portal/orders/{setup['small'].public_id}/",
                cookie=cookie,
                clients=clients,
                requests=requests,
                server_group=web.pid,
            ),
            "status-link page (4 lines)": _page_load(
                port, setup["link_path"], cookie="", clients=clients, requests=requests, server_group=web.pid
            ),
            "portal order page (300 lines)": _page_load(
                port,
                f"/portal/orders/{setup['large'].public_id}/",
                cookie=cookie,
                clients=clients,
                requests=requests // 2,
                server_group=web.pid,
            ),
        }
    finally:
        processes.stop(web)


def sockets_scenario(*, setup: dict, env: dict, logs: Path, queue: str, sockets: int, changes: int) -> dict:
    """`sockets` websockets on the 4-line order; `changes` status changes a second apart."""
    import websockets

    from orders.services import Actor, Provenance, apply_status_update

    order = setup["small"]
    line_ids = list(order.lines.order_by("number").values_list("pk", flat=True))
    port = processes.free_port()
    web_env = {**env, "CONN_MAX_AGE": "60"}
    web = processes.start_web_server("uvicorn-asgi", port=port, processes=2, env=web_env, log=logs / "portal-ws.log")
    workers = processes.start_workers(1, queue=queue, env=env, log=logs / "portal-worker.log")
    committed: dict[int, float] = {}
    arrivals: list[tuple[int, float, int]] = []
    url = f"ws://127.0.0.1:{port}/ws/portal/orders/{order.public_id}/?since={order.outbox_sequence}&lang=en"
    headers = {"Cookie": f"sessionid={setup['session']}", "Origin": f"http://127.0.0.1:{port}"}
    statuses = ("out_for_delivery", "delivered", "verified")

    async def listen(socket) -> None:
        try:
            async for message in socket:
                received = time.time()
                change = json.loads(message)
                arrivals.append((change.get("sequence"), received, len(message)))
        except websockets.ConnectionClosed:
            pass

    async def run() -> tuple[int, float]:
        opened = []
        begun = time.perf_counter()
        for start in range(0, sockets, 50):
            batch = await asyncio.gather(
                *(
                    websockets.connect(url, additional_headers=headers, max_queue=None)
                    for _ in range(start, min(sockets, start + 50))
                ),
                return_exceptions=True,
            )
            opened += [socket for socket in batch if not isinstance(socket, BaseException)]
        open_seconds = time.perf_counter() - begun
        listeners = [asyncio.create_task(listen(socket)) for socket in opened]
        await asyncio.sleep(1.0)
        loop = asyncio.get_running_loop()
        for number in range(changes):
            line_id = line_ids[number % len(line_ids)]
            status = statuses[(number // len(line_ids)) % len(statuses)]

            def change(line_id=line_id, status=status, number=number) -> None:
                result = apply_status_update(
                    line_id=line_id,
                    status=status,
                    occurred_at=START + timedelta(hours=1, minutes=number),
                    actor=Actor.integration("bench-portal"),
                    provenance=Provenance(source_system="bench-portal"),
                )
                done = time.time()  # apply_status_update returns once committed
                committed[_sequence(order.pk)] = done
                return result

            await loop.run_in_executor(None, change)
            await asyncio.sleep(1.0)
        await asyncio.sleep(2.0)
        await asyncio.gather(*(socket.close() for socket in opened), return_exceptions=True)
        await asyncio.gather(*listeners, return_exceptions=True)
        return len(opened), open_seconds

    try:
        processes.worker_wait_ready(f"{queue}-0@bench")  # a change is not timed from the worker's start-up
        opened, open_seconds = asyncio.run(run())
    finally:
        for worker in workers:
            processes.stop(worker)
        processes.stop(web)
    delays = [received - committed[sequence] for sequence, received, _size in arrivals if sequence in committed]
    sizes = [size for sequence, _received, size in arrivals if sequence in committed]
    per_change = {sequence: sum(1 for arrived, _r, _s in arrivals if arrived == sequence) for sequence in committed}
    expected = opened * len(committed)
    from orders.models import Order
    from orders.read_models import order_view, with_view_version

    whole = len(json.dumps(order_view(with_view_version(Order.objects.filter(pk=order.pk)).get())))
    return {
        "sockets_opened": opened,
        "open_seconds": round(open_seconds, 2),
        "changes": len(committed),
        "deliveries": len(delays),
        "expected_deliveries": expected,
        "deliveries_per_change": per_change,
        # Commit to delivery, the median of each change's sockets (ms): a slow change stands out.
        "delivery_p50_ms_by_change": {
            sequence: round(statistics.median(_delays(arrivals, sequence, done)) * 1000, 1)
            for sequence, done in committed.items()
            if per_change[sequence]
        },
        "push_bytes_mean": round(statistics.mean(sizes)) if sizes else None,
        "whole_view_bytes": whole,
        **_stats(delays),
    }


def _delays(arrivals: list, sequence: int, committed_at: float) -> list[float]:
    return [received - committed_at for arrived, received, _size in arrivals if arrived == sequence]


def _sequence(order_id: int) -> int:
    from orders.models import Order

    return Order.objects.values_list("outbox_sequence", flat=True).get(pk=order_id)


def portal_scenario(options, *, run: str, queue: str, env: dict, logs: Path) -> dict:
    setup = portal_orders_create(run)
    # Every client here is one address opening one link: the per-token and per-address limits
    # of status links are for the real world, not for a load test.
    env = {**env, "STATUS_LINK_OPENS_PER_MINUTE": "100000000", "STATUS_LINK_OPENS_PER_MINUTE_PER_IP": "100000000"}
    print(
        f"Portal: pages at 16 concurrent clients, then {options.portal_sockets} websockets on one order ...", flush=True
    )
    results = {
        "pages": pages_scenario(
            setup=setup,
            env=env,
            logs=logs,
            server=options.web_server,
            web_processes=options.web_processes,
            clients=16,
            requests=options.portal_requests,
        ),
        "sockets": sockets_scenario(
            setup=setup, env=env, logs=logs, queue=queue, sockets=options.portal_sockets, changes=options.portal_changes
        ),
        "load_average": os.getloadavg()[0],
    }
    return results


def portal_table(results: dict) -> str:
    pages = results["pages"]
    rows = [
        f"Portal pages ({pages['server']}, {pages['processes']} processes of {pages.get('threads', '?')} threads, "
        f"{pages['clients']} concurrent clients):"
    ]
    rows.append(
        f"  {'page':32} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'failed':>6} "
        f"{'server CPU ms/req':>17} {'client CPU ms/req':>17}"
    )
    for name, figures in pages.items():
        if not isinstance(figures, dict):
            continue
        rows.append(
            f"  {name:32} {figures['requests']:>8} {figures['per_second']:>7} {figures['p50_ms']:>7} "
            f"{figures['p95_ms']:>7} {figures['max_ms']:>7} {figures['failed']:>6} {figures['server_cpu_ms']:>17} "
            f"{figures.get('client_cpu_ms', ''):>17}"
        )
    sockets = results["sockets"]
    rows.append(
        f"Live pushes: {sockets['sockets_opened']} sockets on one order (opened in {sockets['open_seconds']} s), "
        f"{sockets['changes']} changes, {sockets['deliveries']}/{sockets['expected_deliveries']} deliveries; "
        f"commit to delivery p50 {sockets['p50_ms']} ms, p95 {sockets['p95_ms']} ms, max {sockets['max_ms']} ms; "
        f"a push {sockets['push_bytes_mean']} bytes (the whole view {sockets['whole_view_bytes']})"
    )
    rows.append(
        f"Targets: pages p95 <= {TARGETS['page_p95_ms']} ms, 300 lines < {TARGETS['large_order_p95_ms']} ms, "
        f"pushes p95 <= {TARGETS['push_p95_ms']} ms (load average {results['load_average']:.2f})"
    )
    return "\n".join(rows)
