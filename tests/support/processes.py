"""The server's processes as /proc shows them: its workers, their query processes, whether one has exited."""

from __future__ import annotations

from pathlib import Path

from .servers import RunningServer


def children(pid: int) -> list[int]:
    """Live (non-zombie) child processes of `pid`, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def is_gone(pid: int) -> bool:
    """Exited: no such process, or a zombie nobody has reaped yet, every one of its threads.

    A killed process's main thread shows as a zombie while its other threads are still exiting; until the last
    one has, the process holds its files (its end of the pipe stays open) and cannot be reaped."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return True
    for task in tasks:
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue  # this thread has gone meanwhile
        if stat[stat.rindex(")") + 2] not in "ZX":
            return False
    return True


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def query_processes(server: RunningServer) -> list[int]:
    return [child for worker in children(server.process.pid) for child in children(worker)
            if "nato_kg.engine.query_process" in command_line(child)]
