"""`--store DIR`: a persistent on-disk Oxigraph store, built once from the Turtle files, reopened instantly.

Beside the store sits the fingerprint of what it was built from (every source file's name and bytes, and the
base IRI). When the fingerprint of the files on disk differs, the store is rebuilt; otherwise it is opened as
it is. The server opens it read-only everywhere (gunicorn workers and query processes alike), so it builds
the store once before the workers start. The fingerprint is also the dataset version in ETags.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
from pathlib import Path

import pyoxigraph as ox

from nato_kg.data.store import source_files
from nato_kg.settings import Settings

STORE_SUBDIR = "oxigraph"
FINGERPRINT_FILE = "fingerprint"


def fingerprint(settings: Settings) -> str:
    digest = hashlib.sha256(settings.base_iri.encode("utf-8"))
    for source in source_files(settings.data_dir):
        digest.update(f"\0{source.graph}\0{source.path.name}\0".encode())
        digest.update(source.path.read_bytes())
    return digest.hexdigest()


def ensure_store(settings: Settings) -> bool:
    """Build the on-disk store unless it matches the source files; True when it was (re)built."""
    assert settings.store_dir is not None
    root = settings.store_dir
    root.mkdir(parents=True, exist_ok=True)
    wanted = fingerprint(settings)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes starting at once build it once
        marker = root / FINGERPRINT_FILE
        if marker.exists() and marker.read_text().strip() == wanted and (root / STORE_SUBDIR).exists():
            return False
        marker.unlink(missing_ok=True)  # a build that stops half-way is never taken for a finished one
        shutil.rmtree(root / STORE_SUBDIR, ignore_errors=True)
        store = ox.Store(str(root / STORE_SUBDIR))
        for source in source_files(settings.data_dir):
            store.bulk_load(path=str(source.path), format=ox.RdfFormat.TURTLE, base_iri=settings.base_iri,
                            to_graph=ox.NamedNode(settings.graph_iri(source.graph)))
        store.flush()
        del store  # closes the database before anyone opens it read-only
        marker.write_text(wanted + "\n")
        return True


def open_read_only(settings: Settings) -> ox.Store:
    assert settings.store_dir is not None
    return ox.Store.read_only(str(Path(settings.store_dir) / STORE_SUBDIR))
