"""Run the app under gunicorn (default) or Flask's development server (--dev).

gunicorn manages the worker processes; each runs uvicorn (httptools, uvloop) with the ASGI front of
server/serving/asgi.py, which answers repeats from the response cache on the event loop and hands the rest to Flask
in threads. Measured on a callable that returns fixed bytes, gunicorn's own threaded worker was far slower
than uvicorn's: the HTTP server was most of a cheap answer's cost (figures in benchmarks/RESULTS.md, "Figures
behind choices in the code").
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Any, ClassVar

from gunicorn.app.base import BaseApplication
from uvicorn_worker import UvicornWorker

from nato_kg.data.store import check_sources
from nato_kg.errors import SetupError
from nato_kg.serving.asgi import create_asgi_app
from nato_kg.serving.request_head import BoundedHttpToolsProtocol
from nato_kg.settings import Settings
from nato_kg.web.app import create_app


class Worker(UvicornWorker):  # type: ignore[misc]
    # The access log is ours (server/web/access_log.py); no Server header; the app has no lifespan events.
    # Connection limits are the protocol's (server/serving/request_head.py); uvicorn's limit_concurrency is set
    # past them in serve().
    # uvicorn calls callback_notify every timeout_notify seconds: there the worker checks that its master lives.
    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {"loop": "uvloop", "http": BoundedHttpToolsProtocol,
                                               "access_log": False, "server_header": False, "lifespan": "off",
                                               "limit_concurrency": 1000, "timeout_notify": 1}
    ORPHAN_GRACE_S = 3.0

    def init_process(self) -> None:
        _bound_malloc_arenas()
        super().init_process()

    async def callback_notify(self) -> None:
        """Tell the master we are alive; if the master is gone, stop: an orphaned worker would keep the port
        and serve on with nobody to restart it, and a new `kg serve` could not bind."""
        if os.getppid() != self.ppid:
            self.log.warning("the gunicorn master (pid %d) is gone; worker %d stops", self.ppid, os.getpid())
            # uvicorn's own SIGTERM handling closes the listening socket and lets requests in flight finish;
            # whatever is still running after the grace period is cut short.
            threading.Timer(self.ORPHAN_GRACE_S, os._exit, (0,)).start()
            os.kill(os.getpid(), signal.SIGTERM)
            return
        self.notify()


M_ARENA_MAX = -8  # glibc's mallopt parameter


def _bound_malloc_arenas() -> None:
    """Two malloc arenas in this worker, not glibc's 8 per core: each Flask thread would otherwise get its own,
    and memory freed in one is not reused by another, so a worker's RSS grew past its memos' budgets."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to bound
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt(M_ARENA_MAX, 2)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        self.cfg.set("bind", f"{s.host}:{s.port}")
        self.cfg.set("workers", s.workers)
        self.cfg.set("worker_class", "nato_kg.serving.gunicorn_app.Worker")
        self.cfg.set("keepalive", 5)
        # A worker that answers nothing for this long is restarted; queries have their own, shorter limit.
        self.cfg.set("timeout", int(s.query_timeout_s) + 30)

    def load(self) -> Any:
        return create_asgi_app(self.settings)


def _build_store_in_a_child(settings: Settings) -> bool:
    """Build the on-disk store once, before the workers start, so that each can open it read-only.

    In a spawned child, never in this process: RocksDB keeps a pool of background threads after a database
    closes, and a gunicorn worker forked from a process that has them hangs for ever when it exits."""
    from nato_kg.data.disk_store import ensure_store

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as child:
        return child.submit(ensure_store, settings).result()


def check_port(settings: Settings) -> None:
    """Bind the address as gunicorn will (SO_REUSEADDR), then let it go: a port another server holds is said in
    one line now, not after gunicorn's five retries and a traceback."""
    try:
        infos = socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise SetupError(f"cannot listen on {settings.host}: {error.strerror}; give --host an address of this "
                         "machine") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise SetupError(f"port {settings.port} on {settings.host} is already in use (another kg serve?); "
                                 "stop that server or choose another --port") from None
            raise SetupError(f"cannot listen on {settings.host}:{settings.port}: {error.strerror}") from None


def serve(settings: Settings) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:  # every start-up fault found here is one line and exit 1, before any worker starts
        check_sources(settings)
        if os.environ.get("WERKZEUG_RUN_MAIN") != "true":  # --dev's reloaded child serves the socket its parent bound
            check_port(settings)
        if settings.store_dir is not None and _build_store_in_a_child(settings):
            logging.getLogger("kg.store").info("built the on-disk store in %s", settings.store_dir)
    except SetupError as error:
        print(f"kg serve: {error}", file=sys.stderr)
        return 1
    if settings.dev:
        create_app(settings).run(host=settings.host, port=settings.port, debug=True)
    else:
        # Class attributes, set before the workers fork, so every worker's connections follow them.
        BoundedHttpToolsProtocol.HEAD_TIMEOUT_S = settings.head_timeout_s
        BoundedHttpToolsProtocol.MAX_PER_ADDRESS = settings.max_connections_per_address
        BoundedHttpToolsProtocol.MAX_CONNECTIONS = settings.max_connections
        # uvicorn's own limit answers 503 past it; ours closes the longest-idle connection first, so uvicorn's
        # is reached only when the connections past ours are all busy.
        Worker.CONFIG_KWARGS = {**Worker.CONFIG_KWARGS, "limit_concurrency": 2 * settings.max_connections}
        _Gunicorn(settings).run()
    return 0
