"""`--store DIR`: a persistent on-disk Oxigraph store, built once from the Turtle files, reopened instantly.

Beside the store sits the fingerprint of what it was built from (every source file's name and bytes, and the
base IRI). When the fingerprint of the files on disk differs, the store is rebuilt; otherwise it is opened as
it is. The server opens it read-only everywhere (gunicorn workers and query processes alike), so it builds
the store once before the workers start. The fingerprint is also the dataset version in ETags.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
from pathlib import Path

import pyoxigraph as ox

from nato_kg.data.store import source_files
from nato_kg.errors import SetupError
from nato_kg.settings import Settings

STORE_SUBDIR = "oxigraph"
FINGERPRINT_FILE = "fingerprint"
CHECKSUMS_FILE = "checksums.json"  # of the store's files, taken when it was built


def fingerprint(settings: Settings) -> str:
    digest = hashlib.sha256(settings.base_iri.encode("utf-8"))
    for source in source_files(settings.data_dir):
        digest.update(f"\0{source.graph}\0{source.path.name}\0".encode())
        digest.update(source.path.read_bytes())
    return digest.hexdigest()


def _rebuild_hint(settings: Settings) -> str:
    return f"rebuild it from the Turtle files: kg serve --store {settings.store_dir} --rebuild-store"


def ensure_store(settings: Settings) -> bool:
    """Build the on-disk store unless it matches the source files; True when it was (re)built.

    A store on a folder this process may not write (read-only mount, another owner) is served as it is if it
    was built from these files. A store whose files differ from what was built is refused (SetupError)."""
    assert settings.store_dir is not None
    root = settings.store_dir
    wanted = fingerprint(settings)
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = (root / ".lock").open("w")
    except OSError as error:
        if not _built_from(root, wanted):
            raise SetupError(f"cannot build the store in {root} ({error.strerror}) and no store built from these "
                             "files is there; build it where it can be written, or choose another --store") from None
        verify(settings)  # served read-only, as it is
        return False
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes starting at once build it once
        if _built_from(root, wanted) and not settings.rebuild_store:
            verify(settings)
            return False
        marker = root / FINGERPRINT_FILE
        marker.unlink(missing_ok=True)  # a build that stops half-way is never taken for a finished one
        shutil.rmtree(root / STORE_SUBDIR, ignore_errors=True)
        store = ox.Store(str(root / STORE_SUBDIR))
        for source in source_files(settings.data_dir):
            store.bulk_load(path=str(source.path), format=ox.RdfFormat.TURTLE, base_iri=settings.base_iri,
                            to_graph=ox.NamedNode(settings.graph_iri(source.graph)))
        store.flush()
        del store  # closes the database before anyone opens it read-only
        (root / CHECKSUMS_FILE).write_text(json.dumps(_checksums(root / STORE_SUBDIR), indent=0, sort_keys=True))
        marker.write_text(wanted + "\n")
        return True


def _built_from(root: Path, wanted: str) -> bool:
    marker = root / FINGERPRINT_FILE
    return (marker.exists() and marker.read_text().strip() == wanted and (root / STORE_SUBDIR).exists()
            and (root / CHECKSUMS_FILE).exists())


def _checksums(store_dir: Path) -> dict[str, str]:
    """SHA-256 of every file of a closed store that a read-only open never changes (not RocksDB's LOG or LOCK)."""
    sums = {}
    for path in sorted(store_dir.iterdir()):
        if path.is_file() and not path.name.startswith(("LOG", "LOCK")):
            with path.open("rb") as data:
                sums[path.name] = hashlib.file_digest(data, "sha256").hexdigest()
    return sums


def verify(settings: Settings) -> None:
    """Compare the store's files with the checksums taken when it was built; SetupError names the first damage.
    RocksDB checks a block only when it reads it, so a damaged block would otherwise surface in some query."""
    assert settings.store_dir is not None
    root = settings.store_dir
    try:
        recorded = json.loads((root / CHECKSUMS_FILE).read_text())
        if not isinstance(recorded, dict) or not all(isinstance(v, str) for v in recorded.values()):
            raise ValueError("not a map of file names to checksums")
    except (OSError, ValueError):
        raise SetupError(f"the store in {root} has no readable record of its checksums (built by an older version, "
                         f"or damaged); {_rebuild_hint(settings)}") from None
    try:
        found = _checksums(root / STORE_SUBDIR)
    except OSError as error:
        raise SetupError(f"the store in {root} cannot be read ({error.strerror}); {_rebuild_hint(settings)}") from None
    for name, digest in recorded.items():
        if name not in found:
            raise SetupError(f"the store in {root} is damaged: {STORE_SUBDIR}/{name} is missing; "
                             f"{_rebuild_hint(settings)}")
        if found[name] != digest:
            raise SetupError(f"the store in {root} is damaged: {STORE_SUBDIR}/{name} differs from when it was "
                             f"built; {_rebuild_hint(settings)}")


def open_read_only(settings: Settings) -> ox.Store:
    assert settings.store_dir is not None
    return ox.Store.read_only(str(Path(settings.store_dir) / STORE_SUBDIR))

