"""`sales serve --workers N` with N > 1: N uvicorn processes, each listening on a socket of its own bound with
SO_REUSEPORT, so the kernel spreads incoming connections evenly over them.

Issue 19: uvicorn's own multi-worker mode shares one listening socket; every idle worker wakes for a new
connection and the first to run accepts it. A client (or a proxy) opening its keep-alive connections together
had them all accepted by one worker: measured with 32 clients, one worker served every request on one core while
the other stayed idle. With a socket per worker the kernel hashes each connection to one of them.
"""
from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
from multiprocessing.connection import wait
from typing import Any

import click

STARTUP_FAILURE = 3  # uvicorn's exit code when a worker cannot start (its config.STARTUP_FAILURE)


def serve_workers(workers: int, *, host: str, port: int, options: dict[str, Any]) -> None:
    """Run `workers` processes until SIGINT/SIGTERM (passed on to them: each shuts down gracefully); a worker that
    dies is started again, unless it could not start at all (then the others are stopped and this exits)."""
    context = multiprocessing.get_context("spawn")  # children inherit the environment (metrics directory)

    def start() -> multiprocessing.process.BaseProcess:
        process = context.Process(target=_worker, args=(host, port, options), daemon=False)
        process.start()
        return process

    processes = [start() for _ in range(workers)]
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.is_alive():
                process.terminate()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping:
        wait([p.sentinel for p in processes], timeout=1.0)
        for i, process in enumerate(processes):
            if stopping or process.is_alive():
                continue
            if process.exitcode == STARTUP_FAILURE:
                click.echo(f"a worker could not start (exit code {process.exitcode}): stopping", err=True)
                stop(signal.SIGTERM, None)
                break
            click.echo(f"worker {process.pid} exited with {process.exitcode}: starting another", err=True)
            processes[i] = start()
    for process in processes:
        process.join()
    if any(p.exitcode == STARTUP_FAILURE for p in processes):
        sys.exit(STARTUP_FAILURE)


def _worker(host: str, port: int, options: dict[str, Any]) -> None:
    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family, reuse_port=True, backlog=2048)
    except OSError as exc:
        click.echo(f"cannot listen on {host}:{port} ({exc.strerror})", err=True)
        sys.exit(STARTUP_FAILURE)
    uvicorn.Server(uvicorn.Config("sales.asgi:app", host=host, port=port, **options)).run(sockets=[sock])
