"""The byte-bounded memo behind the per-process caches that request data can fill (policy verdicts, known IRIs)."""

from __future__ import annotations

from nato_kg.memo import BytesMemo, text_size


def test_the_memo_keeps_to_its_byte_budget_whatever_the_keys_size():
    memo: BytesMemo[str, bool] = BytesMemo(1024 * 1024, lambda _: 0)
    for n in range(2000):  # 2,000 distinct 30 KB keys: 60 MB if all were kept
        memo.put(f"{n:06d}" + "x" * 30_000, True)
        assert memo.bytes <= 1024 * 1024
    assert 0 < memo.state()["entries"] < 40


def test_the_least_recently_used_entry_goes_first():
    memo: BytesMemo[str, int] = BytesMemo(4 * (text_size("k0" + "x" * 1000) + 200) * 4)
    keys = [f"k{n}" + "x" * 1000 for n in range(16)]
    for n, key in enumerate(keys):
        memo.put(key, n)
    assert memo.get_or_compute(keys[0], lambda: -1) == -1  # the oldest went
    computed = []
    assert memo.get_or_compute(keys[-1], lambda: computed.append(1) or -1) == 15
    assert computed == []  # the newest is still there, not computed again


def test_an_entry_over_a_quarter_of_the_budget_is_not_kept():
    memo: BytesMemo[str, bool] = BytesMemo(100_000, lambda _: 0)
    memo.put("x" * 30_000, True)
    assert memo.state() == {"entries": 0, "bytes": 0, "max_bytes": 100_000}
