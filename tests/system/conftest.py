"""System tests: the real stack (PostgreSQL, Redis, `celery worker` subprocesses, a uvicorn web
server, Mosquitto) driven from the test process, with traffic in every inbound format.

Skipped, with the reason, unless the database is PostgreSQL and REDIS_URL is set; with
REQUIRE_SYSTEM_TESTS=1 (CI) a missing service fails them instead.

- Each test gets its own Celery queue (CELERY_TASK_DEFAULT_QUEUE for the subprocesses,
  app.conf.task_default_queue here), deleted at teardown: no stale task of an earlier run is run.
- The subprocesses use the pytest-django test database; tests use django_db(transaction=True)
  so that what they write is committed and visible to them.
- The sweeper: there is no celery beat. While a test waits, the test process calls
  integrations.tasks.inbound_sweep every SWEEP_EVERY seconds; it re-queues (into the test's
  queue) messages received more than SWEEP_AFTER seconds ago and retries that are due. Tests
  where no worker dies sweep only the due retries: a message left waiting there means that a
  task was dropped.
"""

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import redis
import requests
from django.conf import settings as django_settings
from django.db import connection
from django.db.models import Count

from integrations.models import MessageFormat, SourceKind, SourceSystem, StatusMapping, Transport
from orders.models import LineReference, Order, OrderLine, StatusEvent
from orders.services.audit import audit_chain_verify
from orders.status import RANK, LineStatus
from tests.factories import AccountFactory, PartFactory, SiteFactory

ROOT = Path(__file__).resolve().parents[2]
SECRET = "system-test-secret-0123456789"  # each source's is this with its code in front: no two alike
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # the source clock the traffic starts at
SWEEP_AFTER = 3  # seconds: INBOUND_SWEEP_AFTER_SECONDS for the sweeper
SWEEP_EVERY = 2.0  # seconds between two sweeps while a test waits
LEASE_SECONDS = 10  # INBOUND_LEASE_SECONDS of the workers
REQUIRED = os.environ.get("REQUIRE_SYSTEM_TESTS") == "1"


def require(condition: bool, reason: str) -> None:
    """Skip when a service is missing; fail instead when CI requires the system tests."""
    if condition:
        return
    if REQUIRED:
        pytest.fail(f"{reason} (REQUIRE_SYSTEM_TESTS=1, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def system_services() -> None:
    require(
        connection.vendor == "postgresql",
        f"system tests need PostgreSQL (set DATABASE_URL); the database is {connection.vendor}",
    )
    require(bool(django_settings.REDIS_URL), "system tests need Redis: set REDIS_URL")
    try:
        redis.Redis.from_url(django_settings.REDIS_URL, socket_timeout=3).ping()
        problem = ""
    except redis.RedisError as error:
        problem = f"Redis at {django_settings.REDIS_URL} does not answer: {error}"
    require(not problem, problem)


@pytest.fixture(scope="session")
def mosquitto() -> tuple[str, int]:
    """Host and port of the MQTT broker (MQTT_TEST_URL, else MQTT_URL, else 127.0.0.1:1883),
    checked reachable."""
    url = os.environ.get("MQTT_TEST_URL") or os.environ.get("MQTT_URL") or "mqtt://127.0.0.1:1883"
    host, _, port = url.split("://", 1)[-1].rpartition("@")[2].partition(":")
    address = (host or "127.0.0.1", int(port or 1883))
    try:
        socket.create_connection(address, timeout=3).close()
        problem = ""
    except OSError as error:
        problem = f"no MQTT broker (Mosquitto) at {address[0]}:{address[1]}: {error}"
    require(not problem, problem)
    return address


@pytest.fixture(scope="session")
def stack_environment(django_db_setup) -> dict[str, str]:
    """The environment of every subprocess: the pytest-django test database, Redis, DEBUG."""
    database = connection.settings_dict
    credentials = quote(database["USER"] or "", safe="")
    if database.get("PASSWORD"):
        credentials += ":" + quote(database["PASSWORD"], safe="")
    host = quote(database["HOST"] or "", safe="")
    port = f":{database['PORT']}" if database.get("PORT") else ""
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{credentials}@{host}{port}/{quote(database['NAME'], safe='')}",
        "REDIS_URL": django_settings.REDIS_URL,
        "DEBUG": "1",
        "INBOUND_SWEEP_AFTER_SECONDS": str(SWEEP_AFTER),
        # a killed worker's messages are taken again this soon (production: 120 s, past the task time limit)
        "INBOUND_LEASE_SECONDS": str(LEASE_SECONDS),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


@dataclass
class Service:
    """A subprocess in its own session, so that its whole process group can be signalled."""

    name: str
    process: subprocess.Popen
    log: Path
    url: str = ""
    killed: bool = False
    # A supervised worker is started again when it exits, as systemd's Restart=always would.
    restart: "Callable[[], Service] | None" = None
    restarts: int = 0

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL the main process and its pool children at once: no warm shutdown, no acks."""
        self.killed = True
        self._signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM to the main process only (celery then shuts its pool down warmly), then
        SIGKILL to whatever is left of the group."""
        if self.alive():
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        self._signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def _signal(self, number: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # the whole group has already exited
            os.killpg(self.process.pid, number)


def inbox_summary() -> str:
    """What is left unprocessed in the inbox, grouped: for the message of a failed wait."""
    from integrations.models import InboundMessage, MessageState

    left = InboundMessage.objects.exclude(state=MessageState.PROCESSED)
    groups = Counter(
        (m.state, m.attempts, m.lease_expires_at is not None, m.requeue_count, m.last_error[:100]) for m in left
    )
    lines = [f"{count} x (state, attempts, leased, requeued, error) = {key}" for key, count in groups.most_common(10)]
    return "inbox, not processed:\n" + ("\n".join(lines) or "nothing")


class Stack:
    """Workers, a web server and management commands of one test, on the test's own queue."""

    def __init__(self, *, env: dict[str, str], queue: str, logs: Path):
        self.env = env
        self.queue = queue
        self.logs = logs
        self.services: list[Service] = []

    def start_worker(self, *, concurrency: int = 2, supervised: bool = False, **env: str) -> Service:
        """A celery worker on the test's queue. `supervised`: started again when it exits (a
        broker that goes away mid-acknowledgement can make kombu end the worker; in production
        the process supervisor starts it again, and nothing may be lost meanwhile)."""
        node = f"{self.queue}-{len(self.services)}@system-tests"
        args = ["-m", "celery", "-A", "config", "worker", "--loglevel=warning", f"--concurrency={concurrency}"]
        args += ["--pool=prefork"]
        args += ["-Q", self.queue, "-n", node, "--without-gossip", "--without-mingle"]
        service = self._spawn("worker", args, env)
        from config.celery import app

        self._wait_ready(service, lambda: app.control.ping(destination=[node], timeout=0.5))
        if supervised:

            def restart() -> Service:
                again = self._spawn("worker-restarted", args, env)
                self.services.remove(again)
                return again

            service.restart = restart
        return service

    def start_web(self, **env: str) -> Service:
        port = free_port()
        args = ["-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
        service = self._spawn("web", [*args, "--log-level", "warning", "--no-access-log"], env)
        service.url = f"http://127.0.0.1:{port}"
        self._wait_ready(service, lambda: requests.get(f"{service.url}/health/", timeout=2).status_code)
        return service

    def manage(self, *args: str, **env: str) -> Service:
        return self._spawn("manage", ["manage.py", *args], env)

    def wait_until(self, predicate, *, timeout: float, what: str, tasks_may_be_lost: bool = True) -> float:
        """Wait for `predicate()`, sweeping every SWEEP_EVERY seconds; returns the seconds waited.

        Without `tasks_may_be_lost` the sweep re-queues only the retries that are due, not the
        messages left waiting: where no worker dies, every message must be taken by its own task
        (or by a batch), and one left behind means a task was dropped."""
        start = time.monotonic()
        next_sweep = start + SWEEP_EVERY
        while not predicate():
            now = time.monotonic()
            crashed = [s for s in self.services if s.name == "worker" and not s.killed and not s.alive()]
            for worker in [s for s in crashed if s.restart is not None and s.restarts < 3]:
                print(
                    f"supervisor: the worker exited ({worker.process.returncode}), starting it again:\n{worker.output()}"
                )
                again = worker.restart()
                worker.process, worker.log, worker.restarts = again.process, again.log, worker.restarts + 1
                crashed.remove(worker)
            if crashed:
                pytest.fail(f"a worker exited while waiting for {what}:\n{crashed[0].output()}")
            if now - start > timeout:
                pytest.fail(f"gave up after {timeout:.0f} s waiting for {what}\n{inbox_summary()}\n{self.outputs()}")
            if now >= next_sweep:
                self.sweep(received=tasks_may_be_lost)
                next_sweep = now + SWEEP_EVERY
            time.sleep(0.1)
        return time.monotonic() - start

    def sweep(self, *, received: bool = True) -> int:
        """What the periodic integrations.tasks.inbound_sweep does (with `received`), or only its
        half that re-queues the retries that are due."""
        from integrations.services.inbox import inbound_requeue_due
        from integrations.tasks import inbound_process, inbound_sweep

        if received:
            return inbound_sweep()
        due = inbound_requeue_due(stale_after=timedelta(days=3650))  # nothing received is that old
        for message_id in due:
            inbound_process.delay(message_id)
        return len(due)

    def outputs(self) -> str:
        return "\n".join(f"--- {s.name} ({s.log.name}):\n{s.output()}" for s in self.services)

    def stop(self) -> None:
        for service in self.services:
            service.stop()

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> Service:
        log = self.logs / f"{len(self.services):02d}-{name}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, *args],
                cwd=ROOT,
                env={**self.env, **env},
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        service = Service(name=name, process=process, log=log)
        self.services.append(service)
        return service

    def _wait_ready(self, service: Service, probe, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not service.alive():
                pytest.fail(f"{service.name} exited with {service.process.returncode}:\n{service.output()}")
            try:
                if probe():
                    return
            except (requests.RequestException, OSError):
                pass
            time.sleep(0.25)
        pytest.fail(f"{service.name} not ready after {timeout:.0f} s:\n{service.output()}")


@pytest.fixture
def stack(tasks_run_in_process, stack_environment, settings, tmp_path):
    """Tasks sent from here go to Redis, on this test's queue (tasks_run_in_process, which made
    them eager, restores its value afterwards)."""
    from config.celery import app

    queue = f"system-{uuid.uuid4().hex[:12]}"
    previous_queue = app.conf.task_default_queue
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    settings.INBOUND_SWEEP_AFTER_SECONDS = SWEEP_AFTER
    running = Stack(env={**stack_environment, "CELERY_TASK_DEFAULT_QUEUE": queue}, queue=queue, logs=tmp_path)
    yield running
    running.stop()
    app.conf.task_default_queue = previous_queue
    _forget_queue(queue)


def _forget_queue(queue: str) -> None:
    """Delete the queue and the killed workers' unacknowledged tasks for it, which Redis would
    otherwise put back on it an hour later (the visibility timeout)."""
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    bindings = [f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"]
    client.delete(queue, *bindings, *client.scan_iter(f"{queue}\x06\x16*"))
    for tag, raw in client.hscan_iter("unacked"):
        try:
            _message, exchange, routing_key = json.loads(raw)
        except (ValueError, TypeError):
            continue
        if queue in (exchange, routing_key):
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


# Traffic: five source systems, lines they know by order/line or by reference, and status facts.

SOURCES = {
    # code: (format, kind, time zone of naive source times, external code -> canonical status)
    "sys-json": (MessageFormat.CANONICAL_JSON, SourceKind.WMS, "UTC", {}),
    "sys-sap": (MessageFormat.SAP_IDOC_XML, SourceKind.ERP, "Europe/Berlin", {"PIC": "picking", "PGI": "shipped"}),
    "sys-x12": (
        MessageFormat.X12_214,
        SourceKind.CARRIER,
        "UTC",
        # X1 is "arrived at delivery location": the last mile, so out for delivery.
        {"AF": "shipped", "X6": "in_transit", "X1": "out_for_delivery", "D1": "delivered"},
    ),
    "sys-depot": (
        MessageFormat.CSV_DEPOT,
        SourceKind.DEPOT,
        "Europe/Paris",
        {"PICKED": "picking", "PACKED": "packed", "SHIPPED": "shipped"},
    ),
    "sys-scan": (
        MessageFormat.MQTT_SCAN,
        SourceKind.DEPOT,
        "UTC",
        {"PICKED": "picking", "PACKED": "packed", "SHIPPED": "shipped"},
    ),
}

# The path a line travels, and which source may report each step with which code.
STEPS = (
    ("released", (("sys-json", "released"),)),
    ("allocated", (("sys-json", "allocated"),)),
    ("picking", (("sys-sap", "PIC"), ("sys-depot", "PICKED"), ("sys-scan", "PICKED"))),
    ("packed", (("sys-depot", "PACKED"), ("sys-scan", "PACKED"), ("sys-json", "packed"))),
    ("shipped", (("sys-sap", "PGI"), ("sys-x12", "AF"), ("sys-depot", "SHIPPED"), ("sys-scan", "SHIPPED"))),
    ("in_transit", (("sys-x12", "X6"), ("sys-json", "in_transit"))),
    ("out_for_delivery", (("sys-x12", "X1"),)),
    ("delivered", (("sys-x12", "D1"), ("sys-json", "delivered"))),
)


@dataclass(frozen=True)
class TrackedLine:
    pk: int
    order_number: str
    number: str
    delivery_item: str  # SAP VBELN/POSNR
    bill_of_lading: str


@dataclass(frozen=True)
class Fact:
    """One status fact about one line, sent as one message."""

    serial: int
    line: TrackedLine
    source: str
    code: str
    status: str
    occurred_at: datetime


@dataclass
class Traffic:
    lines: list[TrackedLine]
    facts: list[Fact] = field(default_factory=list)

    def bodies(self) -> list[tuple[str, bytes]]:
        """(source code, raw body) of each fact's message."""
        return [(fact.source, render(fact).encode()) for fact in self.facts]

    def expected_statuses(self) -> dict[int, str]:
        """Facts only move lines forward along the path, so the furthest fact wins whatever the
        order of arrival (an earlier one arriving later is recorded as stale)."""
        expected = {line.pk: LineStatus.RECEIVED.value for line in self.lines}
        for fact in self.facts:
            if RANK[fact.status] > RANK[expected[fact.line.pk]]:
                expected[fact.line.pk] = fact.status
        return expected

    def assert_applied_exactly_once(self) -> None:
        """Every line in its expected status, one event per fact, none twice, the chain intact."""
        line_ids = [line.pk for line in self.lines]
        actual = dict(OrderLine.objects.filter(pk__in=line_ids).values_list("pk", "status"))
        wrong = {pk: (status, actual[pk]) for pk, status in self.expected_statuses().items() if actual[pk] != status}
        assert not wrong, (
            f"{len(wrong)} line(s) not in the expected status (expected, actual): {list(wrong.items())[:5]}"
        )
        repeated = (
            StatusEvent.objects.filter(line_id__in=line_ids)
            .values("line_id", "to_status", "occurred_at", "source_system")
            .annotate(times=Count("id"))
            .filter(times__gt=1)
        )
        assert list(repeated) == []
        events = Counter(StatusEvent.objects.filter(line_id__in=line_ids).values_list("line_id", flat=True))
        assert events == Counter(fact.line.pk for fact in self.facts)
        assert audit_chain_verify() == []


class Network:
    """Creates the sources, orders and lines of a system test and plans the facts about them."""

    def sources(self, *codes: str) -> dict[str, SourceSystem]:
        created = {}
        for code in codes or SOURCES:
            message_format, kind, time_zone, mappings = SOURCES[code]
            source = SourceSystem.objects.create(
                code=code,
                name=code,
                kind=kind,
                message_format=message_format,
                time_zone=time_zone,
                secret=f"{code}-{SECRET}",
            )
            StatusMapping.objects.bulk_create(
                StatusMapping(source=source, external_code=external, status=status)
                for external, status in mappings.items()
            )
            created[code] = source
        return created

    def lines(self, count: int, *, prefix: str = "SYS") -> list[TrackedLine]:
        """`count` lines, two per order, each known by order/line, SAP delivery item and BOL."""
        account, part, site = AccountFactory(), PartFactory(), SiteFactory()
        orders = Order.objects.bulk_create(
            Order(number=f"{prefix}-{n:06d}", account=account, region=account.region) for n in range((count + 1) // 2)
        )
        lines = OrderLine.objects.bulk_create(
            OrderLine(order=orders[n // 2], number=str(10 * (n % 2 + 1)), part=part, quantity=1, site=site)
            for n in range(count)
        )
        tracked = [
            TrackedLine(
                pk=line.pk,
                order_number=line.order.number,
                number=line.number,
                delivery_item=f"{80_000_000 + n:010d}/{int(line.number):06d}",
                bill_of_lading=f"BOL{prefix}{n:07d}",
            )
            for n, line in enumerate(lines)
        ]
        LineReference.objects.bulk_create(
            reference
            for line in tracked
            for reference in (
                LineReference(line_id=line.pk, kind=LineReference.Kind.SAP_DELIVERY_ITEM, value=line.delivery_item),
                LineReference(line_id=line.pk, kind=LineReference.Kind.BILL_OF_LADING, value=line.bill_of_lading),
            )
        )
        return tracked

    def traffic(
        self, lines: list[TrackedLine], *, messages: int, seed: int, sources: tuple[str, ...] = tuple(SOURCES)
    ) -> Traffic:
        """`messages` distinct facts: per line, some steps of the path up to a last one, each
        reported by one of `sources` (sometimes two), with increasing source times."""
        rng = random.Random(seed)
        steps = [(status, ways) for status, all_ways in STEPS if (ways := [w for w in all_ways if w[0] in sources])]
        traffic = Traffic(lines=lines)
        for index, line in enumerate(lines):
            last = rng.randrange(2, len(steps))
            moment = START + timedelta(seconds=index)
            for status, ways in [step for step in steps[:last] if rng.random() < 0.6] + [steps[last]]:
                reports = rng.sample(ways, 2) if len(ways) > 1 and rng.random() < 0.25 else [rng.choice(ways)]
                for source, code in reports:
                    moment += timedelta(minutes=rng.randint(5, 90))
                    traffic.facts.append(Fact(len(traffic.facts) + 1, line, source, code, status, moment))
                    if len(traffic.facts) == messages:
                        return traffic
        raise ValueError(f"{len(lines)} lines are too few for {messages} messages")


@pytest.fixture
def network() -> Network:
    return Network()


def render(fact: Fact) -> str:
    """The fact as its source system writes it."""
    return RENDERERS[fact.source](fact)


def _canonical_json(fact: Fact) -> str:
    status = {
        "order": fact.line.order_number,
        "line": fact.line.number,
        "status": fact.code,
        "occurred_at": fact.occurred_at.isoformat(),
    }
    return json.dumps({"message_id": f"sys-json-{fact.serial:07d}", "statuses": [status]})


SAP_IDOC = """<?xml version="1.0" encoding="UTF-8"?>
<DELVRY05>
  <IDOC BEGIN="1">
    <EDI_DC40 SEGMENT="1">
      <TABNAM>EDI_DC40</TABNAM>
      <MANDT>200</MANDT>
      <DOCNUM>{docnum:016d}</DOCNUM>
      <IDOCTYP>DELVRY05</IDOCTYP>
      <MESTYP>{message_type}</MESTYP>
      <SNDPRN>EWPCLNT200</SNDPRN>
      <RCVPRN>PARTTRACK</RCVPRN>
      <CREDAT>{created:%Y%m%d}</CREDAT>
      <CRETIM>{created:%H%M%S}</CRETIM>
    </EDI_DC40>
    <E1EDL20 SEGMENT="1">
      <VBELN>{delivery}</VBELN>
      <VSTEL>DE01</VSTEL>
      <BOLNR>{bill_of_lading}</BOLNR>
      <E1EDL18 SEGMENT="1">
        <QUALF>{code}</QUALF>
      </E1EDL18>
      <E1EDT13 SEGMENT="1">
        <QUALF>{deadline}</QUALF>
        <ISDD>{local:%Y%m%d}</ISDD>
        <ISDZ>{local:%H%M%S}</ISDZ>
      </E1EDT13>
      <E1EDL24 SEGMENT="1">
        <POSNR>{item}</POSNR>
        <MATNR>PS-200-SEAL</MATNR>
        <WERKS>DE10</WERKS>
        <LFIMG>1.000</LFIMG>
        <VRKME>ST</VRKME>
      </E1EDL24>
    </E1EDL20>
  </IDOC>
</DELVRY05>
"""


def _sap_idoc_xml(fact: Fact) -> str:
    # SAP writes local time without a zone: the source's time zone applies.
    local = fact.occurred_at.astimezone(ZoneInfo(SOURCES["sys-sap"][2])).replace(tzinfo=None)
    delivery, item = fact.line.delivery_item.split("/")
    goods_issue = fact.code == "PGI"
    return SAP_IDOC.format(
        docnum=4_800_000_000 + fact.serial,
        message_type="SHPCON" if goods_issue else "WHSCON",
        created=local + timedelta(minutes=2),
        delivery=delivery,
        bill_of_lading=fact.line.bill_of_lading,
        code=fact.code,
        deadline="006" if goods_issue else "010",  # goods issue, picking
        local=local,
        item=item,
    )


def _x12_214(fact: Fact) -> str:
    at = fact.occurred_at.astimezone(UTC)
    control = fact.serial
    isa = (
        f"ISA*00*{'':10}*00*{'':10}*02*{'SYSCARRIER':15}*ZZ*{'PARTSTATUS':15}*{at:%y%m%d}*{at:%H%M}*U*00401"
        f"*{control:09d}*0*P*>"
    )
    transaction = [
        "ST*214*0001",
        f"B10*PRO{control:07d}*{fact.line.order_number}*ODFL",
        f"L11*{fact.line.bill_of_lading}*BM",
        "LX*1",
        f"AT7*{fact.code}*NS***{at:%Y%m%d}*{at:%H%M%S}*UT",
        "MS1*MEMPHIS*TN*US",
    ]
    transaction.append(f"SE*{len(transaction) + 1}*0001")
    group = [f"GS*SM*SYSCARRIER*PARTSTATUS*{at:%Y%m%d}*{at:%H%M}*{control}*X*004010", *transaction, f"GE*1*{control}"]
    return "~\n".join([isa, *group, f"IEA*1*{control:09d}"]) + "~\n"


def _csv_depot(fact: Fact) -> str:
    local = fact.occurred_at.astimezone(ZoneInfo(SOURCES["sys-depot"][2]))
    return (
        "order,line,status,time,site,clerk\n"
        f"{fact.line.order_number},{fact.line.number},{fact.code},{local:%Y-%m-%d %H:%M:%S},depot-lyon,ana\n"
    )


def _mqtt_scan(fact: Fact) -> str:
    return json.dumps(
        {
            "scan_id": f"SYS-SCAN-{fact.serial:07d}",
            "seq": fact.serial,
            "barcode": f"{fact.line.order_number}/{fact.line.number}",
            "event": fact.code,
            "time": fact.occurred_at.isoformat(),
            "site": "depot-rtm",
        }
    )


RENDERERS = {
    "sys-json": _canonical_json,
    "sys-sap": _sap_idoc_xml,
    "sys-x12": _x12_214,
    "sys-depot": _csv_depot,
    "sys-scan": _mqtt_scan,
}


@pytest.fixture
def receive():
    """Store messages in the inbox as the webhook does (their tasks go to the test's queue)."""
    from integrations.services.inbox import inbound_message_receive

    def receive(source: SourceSystem, raw: str, transport: str = Transport.WEBHOOK):
        message, _created = inbound_message_receive(source=source, raw=raw, transport=transport)
        return message

    return receive


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def use_broker(url: str) -> None:
    """Point this process's Celery app (tasks sent from tests, the sweep, worker pings) at `url`."""
    from config.celery import app

    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


class OwnRedis:
    """A throwaway redis-server of this test on a port of its own, stopped and started again at
    will. The machine's shared Redis is never touched."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = directory
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        log = (self.directory / f"redis-{self.port}.log").open("ab")
        self.process = subprocess.Popen([*args, "--dir", str(self.directory)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if redis.Redis.from_url(self.url, socket_timeout=1).ping():
                    return
            time.sleep(0.1)
        pytest.fail(f"own redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def own_redis(tmp_path):
    require(bool(shutil.which("redis-server")), "this test starts its own redis-server: install redis-server")
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


class TcpProxy:
    """A TCP forwarder in front of a server (PostgreSQL here): `cut()` refuses new connections
    and drops the open ones, as an unreachable or crashed server would; `restore()` listens again."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown() first: a close() alone leaves the socket listening (and completing
            # handshakes nobody answers) while the accept thread is blocked in accept().
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            for connection_socket in self._open:
                with contextlib.suppress(OSError):
                    connection_socket.shutdown(socket.SHUT_RDWR)
                    connection_socket.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)  # the timeout was for connecting: a slow answer is no cut
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            # shutdown() first: it wakes the other direction's thread blocked in recv() and sends
            # the peer its FIN at once; a close() alone leaves the connection open under it.
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                end.close()
        with self._lock:
            self._open.difference_update((source, sink))


def post_signed_body(base_url: str, source: SourceSystem, body: bytes, timeout: float = 30) -> requests.Response:
    from integrations.signatures import signature_header

    return requests.post(
        f"{base_url}/api/v1/inbound/{source.code}/",
        data=body,
        headers={
            "X-Signature": signature_header(secret=source.secret, source_code=source.code, body=body),
            "Content-Type": "text/plain",
        },
        timeout=timeout,
    )
