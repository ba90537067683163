"""Helpers the tests share: the live server as a process (servers.py), the app in-process (in_process.py),
golden files (golden.py), the browser (browser.py), and the independent references tests compare answers with
(ld_reference.py, sparql_order.py). Fixtures stay in tests/conftest.py."""
