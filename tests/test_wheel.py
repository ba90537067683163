"""The wheel runs anywhere: built from a copy of the sources, installed (with its dependencies, by pip) into a
fresh virtual environment outside the repository, `kg serve` started in an empty folder serves the same site
from the files the wheel carries: the graph, the stored queries, the templates and the static files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import RDFS, Graph, Literal, URIRef
from support.ld_reference import union
from support.servers import BASE_IRI, RunningServer, free_port, stop_server, wait_until_up

from nato_kg.settings import PROJECT_ROOT, WIKIDATA_SPARQL

# What a clean clone holds that the wheel is built from; copied, so that no build/ folder left in the checkout
# (setuptools keeps old files there) can put a module into the wheel that the sources no longer have.
SOURCES = ("pyproject.toml", "README.md", "server", "ontology", "graph", "queries")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The virtual environment's bin/ folder, with the wheel installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    source.mkdir()
    for name in SOURCES:
        if (PROJECT_ROOT / name).is_dir():
            shutil.copytree(PROJECT_ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(PROJECT_ROOT / name, source / name)
    wheelhouse = tmp / "wheelhouse"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheelhouse),
                    str(source)], check=True, capture_output=True, timeout=300)
    (wheel,) = wheelhouse.glob("nato_expulsions_kg-*.whl")
    environment = tmp / "venv"
    venv.create(environment, with_pip=True)
    bin_dir = environment / "bin"
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheel)], check=True,
                   capture_output=True, timeout=600)
    shutil.rmtree(source)  # nothing of the sources is left to fall back on
    return bin_dir


def clean_env() -> dict[str, str]:
    """No KG_* settings and no PYTHONPATH from the test run: the installed package finds everything itself."""
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("KG_") and k != "PYTHONPATH"}


def test_the_wheel_installs_nato_kg_only_and_finds_its_own_data(installed: Path, tmp_path: Path) -> None:
    probe = ("import importlib.util, nato_kg, nato_kg.settings as s;"
             "print(importlib.util.find_spec('server'));"
             "print(nato_kg.__file__);"
             "print(s.Settings().data_dir)")
    run = subprocess.run([str(installed / "python"), "-c", probe], cwd=tmp_path, env=clean_env(),
                         capture_output=True, text=True, timeout=60, check=True)
    no_server, package, data_dir = run.stdout.splitlines()
    assert no_server == "None"  # no top-level module named `server`
    venv_dir = installed.parent
    assert Path(package).is_relative_to(venv_dir)
    assert Path(data_dir) == Path(package).parent / "files"


@pytest.fixture(scope="module")
def served(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    cwd = tmp_path_factory.mktemp("anywhere")
    port = free_port()
    log = cwd / "server.log"
    process = subprocess.Popen(
        [str(installed / "kg"), "serve", "--port", str(port), "--base-iri", BASE_IRI, "--workers", "1",
         "--query-processes", "1"],
        cwd=cwd, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        # As in support.servers.start_server: the allowed Wikidata IRI goes to a closed loopback port, never out.
        env={**clean_env(), "KG_SERVICE_ROUTES": f"{WIKIDATA_SPARQL}=http://127.0.0.1:9/no-wikidata-in-tests"})
    server = RunningServer(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until_up(server.url + "/health", process)
        yield server
    finally:
        stop_server(server)


def test_the_installed_server_holds_every_triple_of_the_files(served: RunningServer) -> None:
    answer = served.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"},
                        headers={"Accept": "application/sparql-results+json"})
    assert answer.status_code == 200
    assert int(answer.json()["results"]["bindings"][0]["n"]["value"]) == len(union()) == 2113


def test_the_installed_server_has_its_stored_queries(served: RunningServer) -> None:
    listed = served.get("/queries", headers={"Accept": "application/json"}).json()["queries"]
    assert sorted(q["name"] for q in listed) == sorted(p.stem for p in (PROJECT_ROOT / "queries").glob("*.rq"))


def test_the_installed_query_page_and_its_assets(served: RunningServer) -> None:
    page = served.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "<textarea" in page.text
    script = page.text.split('src="', 1)[1].split('"', 1)[0]  # /assets/query.js?v=<hash of the shipped file>
    asset = served.get(script)
    assert asset.status_code == 200
    assert asset.content == (PROJECT_ROOT / "server" / "web" / "static" / "query.js").read_bytes()


def test_the_installed_linked_data_pages(served: RunningServer) -> None:
    turtle = served.get("/doc/nato", headers={"Accept": "text/turtle"})
    assert turtle.status_code == 200
    described = Graph().parse(data=turtle.text, format="turtle")
    assert (URIRef(BASE_IRI + "id/nato"), RDFS.label, Literal("NATO", lang="en")) in described
    page = served.get("/doc/nato", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "NATO" in page.text
    source = served.get("/source/nato-cuts-russian-mission-staff.txt")
    assert source.status_code == 200
    assert source.content == (PROJECT_ROOT / "graph" / "source" / "nato-cuts-russian-mission-staff.txt").read_bytes()


def test_the_wheel_carries_every_data_template_and_static_file(installed: Path) -> None:
    (package,) = installed.parent.glob("lib/python*/site-packages/nato_kg")

    def files(folder: Path) -> list[str]:
        return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                      if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".py")

    for shipped, source in [("files/ontology", "ontology"), ("files/graph", "graph"), ("files/queries", "queries"),
                            ("web/templates", "server/web/templates"), ("web/static", "server/web/static")]:
        assert files(package / shipped) == files(PROJECT_ROOT / source), shipped
