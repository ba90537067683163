"""Run the app under gunicorn (default) or Flask's development server (--dev)."""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from gunicorn.app.base import BaseApplication

from .app import create_app
from .settings import Settings


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        self.cfg.set("bind", f"{s.host}:{s.port}")
        self.cfg.set("workers", s.workers)
        self.cfg.set("threads", s.threads)
        self.cfg.set("worker_class", "gthread")
        self.cfg.set("keepalive", 5)
        # A worker that answers nothing for this long is restarted; queries have their own, shorter limit.
        self.cfg.set("timeout", int(s.query_timeout_s) + 30)
        # GET queries up to gunicorn's largest request line; longer ones go by POST (up to max_query_bytes).
        self.cfg.set("limit_request_line", 8190)

    def load(self) -> Any:
        return create_app(self.settings)


def _build_store_in_a_child(settings: Settings) -> bool:
    """Build the on-disk store once, before the workers start, so that each can open it read-only.

    In a spawned child, never in this process: RocksDB keeps a pool of background threads after a database
    closes, and a gunicorn worker forked from a process that has them hangs for ever when it exits."""
    from .disk_store import ensure_store

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
