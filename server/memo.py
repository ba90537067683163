"""A memo bounded by bytes: what clients can make a worker remember must not grow with what they send.

Counting entries is not enough when keys come from requests (a 60 KB query text, a 30 KB unknown path): 2,048
entries of 60 KB are 120 MB. Each entry here is charged its key's and value's estimated size, and the least
recently used entries go when the total passes the budget; a single entry larger than a quarter of the budget
is not kept at all.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

ENTRY_OVERHEAD = 200  # an OrderedDict slot, its tuple and the small objects around a key and a value


def text_size(value: object) -> int:
    """Bytes a str or bytes (or a tuple of them) holds in memory; other objects are charged their shallow size."""
    if isinstance(value, tuple):
        return sum(text_size(part) for part in value)
    return sys.getsizeof(value)


class BytesMemo(Generic[K, V]):
    """An LRU memo with a byte budget. Thread-safe; `get_or_compute` computes outside the lock."""

    def __init__(self, max_bytes: int, value_size: Callable[[V], int] = text_size) -> None:
        self.max_bytes = max_bytes
        self.value_size = value_size
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0

    def get_or_compute(self, key: K, compute: Callable[[], V]) -> V:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found[0]
        value = compute()
        self.put(key, value)
        return value

    def put(self, key: K, value: V) -> None:
        size = text_size(key) + self.value_size(value) + ENTRY_OVERHEAD
        if size > self.max_bytes // 4:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._entries[key] = (value, size)
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped

    def state(self) -> dict[str, int]:
        return {"entries": len(self._entries), "bytes": self.bytes, "max_bytes": self.max_bytes}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0
