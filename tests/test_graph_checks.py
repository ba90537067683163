"""The graph files pass every check of `kg validate`, and each check catches what it is for."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nato_kg.settings import PROJECT_ROOT
from nato_kg.validation import CHECKS


@pytest.fixture(scope="module")
def report() -> subprocess.CompletedProcess[str]:
    """`kg validate` on the project's files, run once for the module: the checks take seconds (OWL RL, SHACL)."""
    return subprocess.run([sys.executable, "-m", "nato_kg.cli", "validate"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("check", CHECKS, ids=[c.name for c in CHECKS])
def test_the_graph_passes(report, check):
    assert f"ok    {check.description}" in report.stdout.splitlines(), report.stdout + report.stderr


def test_kg_validate_prints_a_report_and_exits_0(report):
    assert report.returncode == 0, report.stdout + report.stderr
    assert report.stdout.splitlines()[-1] == "0 problem(s) found"
    assert "ok    data conforms to ontology/shapes.ttl" in report.stdout


def _broken_copy(tmp: Path) -> Path:
    """A copy of the project's data with one broken instance per check."""
    for folder in ("ontology", "graph", "queries"):
        shutil.copytree(PROJECT_ROOT / folder, tmp / folder)
    # A stored query with a typo, and one whose parameter is not in the query (queries).
    (tmp / "queries" / "typo.rq").write_text("#+ title: Typo\nSELEC ?x WHERE { ?x ?p ?o }\n", encoding="utf-8")
    (tmp / "queries" / "stray.rq").write_text(
        "#+ title: Stray\n#+ param: who iri\nSELECT ?x WHERE { ?x ?p ?o }\n", encoding="utf-8")
    statements = tmp / "graph" / "statements.ttl"
    text = statements.read_text(encoding="utf-8")
    # A statement that lost its speaker (shapes) and misquotes Lavrov (quotes).
    text = text.replace("    kgo:speaker kg:jim-mattis ;\n", "")
    text = text.replace('"colossal pressure, colossal blackmail"@en', '"colossal pressure and blackmail"@en')
    statements.write_text(text, encoding="utf-8")
    actions = tmp / "graph" / "actions.ttl"  # the United States' parts now add up to 70 of its 60 (counts)
    actions.write_text(actions.read_text(encoding="utf-8").replace(
        'kgo:numberOfPeople "48"^^xsd:integer', 'kgo:numberOfPeople "58"^^xsd:integer'), encoding="utf-8")
    passages = tmp / "graph" / "passages.ttl"
    passages.write_text(passages.read_text(encoding="utf-8").replace(
        'oa:start "450"^^xsd:integer', 'oa:start "451"^^xsd:integer'), encoding="utf-8")
    with (tmp / "graph" / "broken.ttl").open("w", encoding="utf-8") as extra:
        extra.write(
            "@prefix kg: <id/> . @prefix kgo: <ontology#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
            "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
            # Person and Organization are disjoint (consistency).
            'kg:jim-mattis a kgo:Organization .\n'
            # Lavrov has no verified Wikidata item; Q123 is not in the list either (wikidata).
            "kg:sergei-lavrov owl:sameAs <http://www.wikidata.org/entity/Q123> .\n"
            # An actor without an English label (labels).
            'kg:nameless a kgo:Person ; rdfs:label "Безымянный"@ru .\n'
            # An expulsion neither whole nor a part (shapes), and a part with another agent (counts).
            'kg:stray-expulsion a kgo:Expulsion ; rdfs:label "Stray expulsion"@en ; kgo:targetState kg:russia .\n'
            'kg:stray-part a kgo:Expulsion , kgo:ExpulsionPart ; rdfs:label "Stray part"@en ; '
            'kgo:targetState kg:russia ; kgo:agent kg:germany ; kgo:partOf kg:expulsion-by-united-states .\n'
        )
    (tmp / "ontology" / "extra.ttl").write_text(
        '@prefix kgo: <ontology#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .\n'
        '@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n'
        'kgo:Undocumented a owl:Class ; rdfs:label "undocumented"@en .\n', encoding="utf-8")
    return tmp


def test_kg_validate_reports_each_broken_instance_readably(tmp_path):
    data_dir = _broken_copy(tmp_path)
    run = subprocess.run([sys.executable, "-m", "nato_kg.cli", "validate", "--data-dir", str(data_dir)],
                         cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert "FAIL  ontology and data are consistent" in out
    assert ("- Disjoint classes http://127.0.0.1:8000/ontology#Person and http://127.0.0.1:8000/ontology#Organization"
            " have a common individual http://127.0.0.1:8000/id/jim-mattis") in out
    assert ("- kg:statement-mattis-different-relationship (Mattis: Russia has chosen to seek a different "
            "relationship) kgo:speaker: a statement has a speaker, an actor (kgo:speaker)") in out
    assert ("- kg:passage-01: text at 451-619 is not the selector's exact text; the exact text is at 450-619"
            in out)
    assert ("- kg:statement-lavrov-colossal-pressure (Lavrov accuses Washington of colossal pressure on its "
            "allies): quote 'colossal pressure and blackmail' is not verbatim in any of its passages") in out
    assert ("- kg:sergei-lavrov (Sergei Lavrov): http://www.wikidata.org/entity/Q123 is not in "
            "graph/source/wikidata/items.tsv") in out
    assert ("- kg:sergei-lavrov (Sergei Lavrov) is listed as having no verified Wikidata item but has "
            "owl:sameAs") in out
    assert "- kg:nameless has no English rdfs:label" in out
    assert ("- kg:stray-expulsion (Stray expulsion): an expulsion is either a kgo:WholeExpulsion (counted in "
            "full) or a kgo:ExpulsionPart of one") in out
    assert ("- kg:stray-part (Stray part): its agent is not the agent of its whole, kg:expulsion-by-united-states "
            "(The United States orders out 60 Russians)") in out
    assert ("- kg:expulsion-by-united-states (The United States orders out 60 Russians): its parts count 70 "
            "people, more than its own kgo:numberOfPeople 60") in out
    assert "- kgo:Undocumented has no English comment" in out
    assert "- queries/typo.rq: Expected {SelectQuery | ConstructQuery | DescribeQuery | AskQuery}" in out
    assert "- queries/stray.rq: parameter 'who' is not a variable of the query" in out
    assert ("- kg:nameless (Безымянный) http://www.w3.org/2000/01/rdf-schema#label: needs exactly one English "
            'rdfs:label ("..."@en)') in out


def test_a_file_that_does_not_parse_is_named(tmp_path):
    shutil.copytree(PROJECT_ROOT / "ontology", tmp_path / "ontology")
    shutil.copytree(PROJECT_ROOT / "graph", tmp_path / "graph")
    (tmp_path / "graph" / "typo.ttl").write_text("@prefix kg: <id/> .\nkg:a kg:b \n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "nato_kg.cli", "validate", "--data-dir", str(tmp_path)],
                         cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "FAIL  every Turtle file parses" in run.stdout
    assert "- graph/typo.ttl:" in run.stdout
    assert "skip  data conforms to ontology/shapes.ttl (pyshacl, RDFS inference) (the files do not parse)" in run.stdout
