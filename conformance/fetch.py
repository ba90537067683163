"""Fetch the W3C SPARQL test suites (not kept in the repository) into var/, from PyPI by pip.

The files ship in rdflib's source distribution (test/data/suites/w3c/): `dawg-data-r2/` (SPARQL 1.0, with its
W3C Software Notice and License in LICENSE) and `sparql11/` (SPARQL 1.1), copies of the w3c/rdf-tests
repository's sparql folders. The sdist is pinned by version and SHA-256; only those folders are unpacked.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

SDIST = "rdflib-7.1.4.tar.gz"
REQUIREMENT = "rdflib==7.1.4"
SHA256 = "fed46e24f26a788e2ab8e445f7077f00edcf95abb73bcef4b86cefa8b62dd174"
MEMBER_ROOT = "rdflib-7.1.4/test/data/suites/w3c/"
SUITES = ("dawg-data-r2", "sparql11")
TARGET = Path(__file__).resolve().parent.parent / "var" / "w3c-sparql"  # the checkout's var/ (git-ignored)


def ensure(target: Path = TARGET) -> Path:
    """The folder holding dawg-data-r2/ and sparql11/, downloaded and unpacked on first use."""
    done = target / ".unpacked"
    if done.is_file() and done.read_text().strip() == SHA256:
        return target
    with tempfile.TemporaryDirectory() as download:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                        REQUIREMENT, "-d", download], check=True)
        sdist = Path(download) / SDIST
        digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
        if digest != SHA256:
            raise RuntimeError(f"{SDIST} has SHA-256 {digest}, expected {SHA256}; not unpacked")
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(sdist) as archive:
            members = [m for m in archive.getmembers()
                       if m.name.startswith(tuple(MEMBER_ROOT + suite + "/" for suite in SUITES))
                       and (m.isfile() or m.isdir())]
            for member in members:
                member.name = member.name.removeprefix(MEMBER_ROOT)
            # the "data" filter refuses paths out of `target` (Python 3.11.4+); the SHA-256 pins the contents anyway
            options = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            archive.extractall(target, members=members, **options)
    done.write_text(SHA256 + "\n")
    return target


if __name__ == "__main__":
    print(ensure())
