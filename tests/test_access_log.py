"""The access log: one logfmt line per request, values quoted so that no request can forge a line."""

from __future__ import annotations

import re

from nato_kg.web.access_log import AccessLog, query_digest


def test_one_line_per_request_with_every_field(tmp_path):
    target = tmp_path / "access.log"
    log = AccessLog(str(target))
    log.write("GET", "/sparql", 200, 1.234, 345, query_digest("ASK {}"), "127.0.0.1")
    log.write("GET", "/doc/nato", "304", 0.05, 0, "-", "127.0.0.1", cache="hit")
    first, second = target.read_text().splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d kg\.access method=GET path=/sparql status=200 ms=1\.23 "
                        r"bytes=345 query=[0-9a-f]{12} client=127\.0\.0\.1", first)
    assert second.endswith(" kg.access method=GET path=/doc/nato status=304 ms=0.05 bytes=0 query=- "
                           "client=127.0.0.1 cache=hit")


def test_a_path_cannot_forge_a_line(tmp_path):
    target = tmp_path / "access.log"
    AccessLog(str(target)).write("GET", '/doc/x\n2026-01-01 00:00:00 kg.access method=GET path="/fake"', 404, 1.0,
                                 10, "-", "127.0.0.1")
    lines = target.read_text().splitlines()
    assert len(lines) == 1
    assert 'path="/doc/x\\x0a2026-01-01 00:00:00 kg.access method=GET path=\\"/fake\\"" status=404' in lines[0]


def test_stderr_by_default_and_off_writes_nothing(capfd):
    AccessLog("-").write("GET", "/a", 200, 1.0, 1, "-", "127.0.0.1")
    AccessLog("off").write("GET", "/b", 200, 1.0, 1, "-", "127.0.0.1")
    AccessLog(None).write("GET", "/c", 200, 1.0, 1, "-", "127.0.0.1")
    err = capfd.readouterr().err.splitlines()
    assert [line.split(" kg.access ")[1] for line in err] == [
        "method=GET path=/a status=200 ms=1.00 bytes=1 query=- client=127.0.0.1"]
