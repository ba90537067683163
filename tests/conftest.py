"""Fixtures only; the helpers they use live in tests/support/.

Two ways to reach the site: `client` runs the Flask app in this process through its test client (views'
answers), `server` runs the real stack as a process on a loopback port (what needs gunicorn, the ASGI front,
its cache, real clients or the browser)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from support.in_process import InProcessSite
from support.servers import BASE_IRI, NO_WIKIDATA, RunningServer, start_server, stop_server

from nato_kg.settings import Settings


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("server"))
    yield running
    stop_server(running)


@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:
    """The app as `kg serve` builds it (with its query processes), built once for the session."""
    from nato_kg.web.app import create_app
    from nato_kg.web.state import state

    built = create_app(Settings.from_env(environ=NO_WIKIDATA, base_iri=BASE_IRI))
    yield built
    state(built).service.close()


@pytest.fixture(scope="session")
def client(app: Flask) -> InProcessSite:
    return InProcessSite(app)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env(environ={}, base_iri=BASE_IRI)


@pytest.fixture(scope="session")
def reference_store(settings: Settings):  # type: ignore[no-untyped-def]
    """The dataset loaded straight into pyoxigraph, to compute expected answers independently."""
    from nato_kg.data.store import load_dataset, native_store

    return native_store(load_dataset(settings))


@pytest.fixture(scope="session")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One gunicorn worker with two query processes, a 2 s time limit and a 256 MB memory cap."""
    running = start_server(tmp_path_factory.mktemp("limited"), "--workers", "1", "--query-processes", "2",
                           "--timeout", "2", "--memory-mb", "256")
    yield running
    stop_server(running)
