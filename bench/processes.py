"""The benchmark's subprocesses: a web server and celery workers, each in its own session so that
stopping one stops its children too."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# How each web server is started (app, then options); all serve the same Django project.
WEB_SERVERS = {
    "uvicorn-asgi": ["-m", "uvicorn", "config.asgi:application", "--log-level", "warning", "--no-access-log"],
    "uvicorn-wsgi": [
        "-m",
        "uvicorn",
        "config.wsgi:application",
        "--interface",
        "wsgi",
        "--log-level",
        "warning",
        "--no-access-log",
    ],
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def spawn(args: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen, *, timeout: float = 20) -> None:
    """SIGTERM the main process (a warm shutdown for celery and uvicorn, which stop their
    children), then SIGKILL the whole process group if it takes too long."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # whatever is left of the group
    process.wait()


def start_web_server(kind: str, *, port: int, processes: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    args = [*WEB_SERVERS[kind], "--host", "127.0.0.1", "--port", str(port), "--workers", str(processes)]
    process = spawn(args, env=env, log=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{kind} exited with {process.returncode}; see {log}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/statuses/", timeout=2)
            return process
        except OSError as error:  # HTTPError (a 4xx answer) means it is up
            if getattr(error, "code", None):
                return process
            time.sleep(0.2)
    stop(process)
    raise RuntimeError(f"{kind} did not answer within 60 s; see {log}")


def group_cpu_seconds(group: int) -> float:
    """CPU seconds (user and system) spent so far by the live processes of a process group
    (a server started by spawn: its own session and group), read from /proc."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[2]) == group:  # pgrp; utime and stime follow at 11 and 12
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def start_workers(count: int, *, queue: str, env: dict[str, str], log: Path) -> list[subprocess.Popen]:
    workers = []
    for number in range(count):
        args = ["-m", "celery", "-A", "config", "worker", "--loglevel=warning", "--concurrency=2", "--pool=prefork"]
        args += ["-Q", queue, "-n", f"{queue}-{number}@bench", "--without-gossip", "--without-mingle"]
        workers.append(spawn(args, env=env, log=log))
    return workers


def worker_wait_ready(node: str, timeout: float = 60) -> None:
    """Measured from a running worker, not from its start-up: wait until `node` answers a ping."""
    from config.celery import app

    deadline = time.monotonic() + timeout
    while not app.control.ping(destination=[node], timeout=0.5):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the worker {node} did not answer within {timeout:.0f} s")
