"""graph/passages.ttl is exactly what `kg passage` writes for each passage's exact text: reproducible."""

from __future__ import annotations

import re
import subprocess
import sys

from nato_kg.passages import passage_turtle
from nato_kg.settings import PROJECT_ROOT
from nato_kg.validation import ARTICLE_TEXT

ARTICLE = (PROJECT_ROOT / ARTICLE_TEXT).read_text(encoding="utf-8")
FILE = (PROJECT_ROOT / "graph" / "passages.ttl").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^kg:passage-.*?\n    \] \.\n", FILE, flags=re.MULTILINE | re.DOTALL)


def _unescape(literal: str) -> str:
    return literal.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def test_every_passage_block_is_what_the_tool_writes():
    assert len(BLOCKS) == FILE.count(" a kgo:Passage ;") == 40  # headline, caption and 38 sentences
    for block in BLOCKS:
        name = re.match(r"kg:passage-(\S+) a", block)[1]
        label = _unescape(re.search(r'rdfs:label "(.*)"@en', block)[1])
        exact = _unescape(re.search(r'oa:exact "(.*)" ;\n', block)[1])
        assert passage_turtle(ARTICLE, name, label, exact) == block, name


def test_kg_passage_prints_a_block_and_refuses_text_not_in_the_article():
    run = subprocess.run([sys.executable, "-m", "nato_kg.cli", "passage", "20",
                          "Many EU countries also ordered Russian diplomats out.",
                          "--label", "Sentence 20 of the article"],
                         cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0
    assert run.stdout == next(b for b in BLOCKS if b.startswith("kg:passage-20 "))
    assert 'oa:start "3859"^^xsd:integer ;' in run.stdout
    missing = subprocess.run([sys.executable, "-m", "nato_kg.cli", "passage", "x", "Nobody said this."],
                             cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert (missing.returncode, missing.stderr) == (
        1, "kg passage: the text does not contain 'Nobody said this.' 1 time(s)\n")
