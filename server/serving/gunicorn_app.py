"""Run the app under gunicorn (default) or Flask's development server (--dev).

gunicorn manages the worker processes; each runs uvicorn (httptools, uvloop) with the ASGI front of
server/serving/asgi.py, which answers repeats from the response cache on the event loop and hands the rest to Flask
in threads. Measured on a callable that returns fixed bytes, gunicorn's own threaded worker was far slower
than uvicorn's: the HTTP server was most of a cheap answer's cost (figures in benchmarks/RESULTS.md, "Figures
behind choices in the code").
"""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any, ClassVar

from gunicorn.app.base import BaseApplication
from uvicorn_worker import UvicornWorker

from nato_kg.serving.asgi import create_asgi_app
from nato_kg.serving.request_head import BoundedHttpToolsProtocol
from nato_kg.settings import Settings
from nato_kg.web.app import create_app


class Worker(UvicornWorker):  # type: ignore[misc]
    # The access log is ours (server/web/access_log.py); no Server header; the app has no lifespan events. Past
    # 1,000 open connections or requests (gunicorn's worker_connections), uvicorn answers 503 at once.
    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {"loop": "uvloop", "http": BoundedHttpToolsProtocol,
                                               "access_log": False, "server_header": False, "lifespan": "off",
                                               "limit_concurrency": 1000}


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


def serve(settings: Settings) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if settings.store_dir is not None and _build_store_in_a_child(settings):
        logging.getLogger("kg.store").info("built the on-disk store in %s", settings.store_dir)
    if settings.dev:
        create_app(settings).run(host=settings.host, port=settings.port, debug=True)
    else:
        _Gunicorn(settings).run()
    return 0
