"""Golden files: expected answers kept in tests/golden/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def golden_text(golden: Path, answer: str) -> str:
    """The expected answer kept in `golden`. With KG_UPDATE_GOLDEN=1 the file is rewritten from `answer` and the
    test fails, so that an update run never passes: read the diff, then run again."""
    if os.environ.get("KG_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(answer, encoding="utf-8")
        pytest.fail(f"golden file {golden.name} rewritten: read the diff")
    return golden.read_text(encoding="utf-8")
