"""One settings object for the whole service: defaults, then environment (KG_*), then CLI flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from nato_kg.namespaces import WIKIDATA_SPARQL

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout, when running from one
PACKAGED_DATA = Path(str(resources.files(__package__ or "nato_kg").joinpath("files")))  # the wheel's copy


def default_data_dir() -> Path:
    """The checkout's own folders when running from one (curators edit them there), else the wheel's copy."""
    if all((PROJECT_ROOT / folder).is_dir() for folder in ("ontology", "graph", "queries")):
        return PROJECT_ROOT
    return PACKAGED_DATA


DEFAULT_DATA_DIR = default_data_dir()




@dataclass(frozen=True)
class Settings:
    # Where the service listens.
    host: str = "127.0.0.1"
    port: int = 8000
    # The IRIs the graph mints start with this; a deployment on another host sets its own.
    base_iri: str = "http://127.0.0.1:8000/"
    # Folder holding ontology/, graph/ and queries/.
    data_dir: Path = DEFAULT_DATA_DIR
    # Persistent on-disk Oxigraph store (None: in memory, loaded at start-up).
    store_dir: Path | None = None
    # A remote SPARQL 1.1 endpoint to use instead of the embedded store.
    backend_url: str | None = None
    # Limits every query is held to.
    query_timeout_s: float = 10.0
    query_memory_mb: int = 2048
    max_query_bytes: int = 64 * 1024
    max_result_mb: int = 64  # a serialised answer larger than this is refused (never cut off)
    # The only hosts a query may reach with SERVICE (and FROM, for graphs we do not hold: none).
    allowed_service_endpoints: tuple[str, ...] = (WIKIDATA_SPARQL,)
    # How SERVICE calls are made (server/engine/federation.py): each call's time limit (held below the query's), the
    # largest remote answer taken, the User-Agent sent (None: the project's own), and routes "IRI=URL" that
    # send an allowed SERVICE IRI to another address (a mirror; a stand-in in the tests).
    service_timeout_s: float = 5.0
    service_max_mb: int = 16
    service_user_agent: str | None = None
    service_routes: tuple[str, ...] = ()
    # Process model.
    workers: int = 2
    threads: int = 4
    query_processes: int = 2
    # ORDER BY rewritten into total sort keys (server/engine/order_by.py). Off: the engine's own comparator, which
    # pyoxigraph 0.5.13 makes panic or misorder on mixed kinds of terms; only for comparing, or a fixed engine.
    order_by_rewrite: bool = True
    # Fair scheduling (server/serving/admission.py), per server worker: queries one client may have running or waiting
    # (of which at most query_processes - 1 run at once, so another client always finds a process), its query
    # seconds per minute, how long a request may wait for a query process (0: the query time limit), and how
    # many requests may wait in all.
    client_queries: int = 4
    client_query_seconds: float = 30.0
    query_wait_s: float = 0.0
    query_queue: int = 64
    # Addresses of reverse proxies whose X-Forwarded-For names the client (none: the peer is the client).
    trusted_proxies: tuple[str, ...] = ()
    # Connections, per server worker (server/serving/request_head.py): the time a request head may take, the
    # connections one address may hold, and the number past which the longest-idle connection is closed.
    head_timeout_s: float = 5.0
    max_connections_per_address: int = 256
    max_connections: int = 1000
    # Where the access log goes: '-' stderr, a file path to append to, or 'off'.
    access_log: str = "-"
    # Memory for repeated GET answers (server/serving/response_cache.py); 0 turns the cache off.
    response_cache_mb: int = 64
    # The built editor and pictures (`make` bundles web/ there); None (KG_UI_DIR=""): the pages without them.
    ui_dir: Path | None = PROJECT_ROOT / "web" / "dist"
    dev: bool = False
    # Serve even when graph/ is missing or holds no Turtle (start-up refuses that by default).
    allow_empty_graph: bool = False
    # Rebuild the --store from the Turtle files even if it looks current (after it was reported damaged).
    rebuild_store: bool = False

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, overridden by KG_<FIELD> environment variables, overridden by keyword arguments."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(f"KG_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _coerce(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        if not settings.base_iri.endswith(("/", "#")):
            settings = replace(settings, base_iri=settings.base_iri + "/")
        return settings

    def graph_iri(self, name: str) -> str:
        """IRI of one of the named graphs the dataset is split into (article, ontology, wikidata)."""
        return f"{self.base_iri}graph/{name}"


def _coerce(name: str, raw: str) -> Any:
    default = {f.name: f for f in fields(Settings)}[name].default
    if name in ("data_dir", "store_dir", "ui_dir"):
        return Path(raw) if raw else None
    if name in ("allowed_service_endpoints", "service_routes", "trusted_proxies"):
        return tuple(part for part in raw.replace(",", " ").split() if part)
    if isinstance(default, bool):
        return raw.lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw or None


__all__ = ["DEFAULT_DATA_DIR", "PACKAGED_DATA", "PROJECT_ROOT", "WIKIDATA_SPARQL", "Settings", "default_data_dir"]
