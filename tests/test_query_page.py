"""The HTML query page at `/`, in real headless Chromium, with JavaScript off and on.

One server (started like `kg serve`, on a data folder whose queries/ holds this module's own examples) and
one Chromium for the whole module. Expected answers are computed independently: the Turtle files are loaded
straight into pyoxigraph here, not through the server's loader.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pyoxigraph as ox
import pytest
from playwright.sync_api import Browser, Page
from support.browser import Tab, chromium, open_tab
from support.servers import BASE_IRI, RunningServer, start_server, stop_server

from nato_kg.engine.stored_queries import load_catalogue
from nato_kg.settings import PROJECT_ROOT

Rows = list[tuple[str, str, str | None]]  # (IRI, label, language tag)
KG = BASE_IRI + "id/"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
ARTICLE = KG + "article"
ARTICLE_TITLE = "NATO Cuts Russian Mission Staff Over Spy Poisoning"
PREFIXES = f"""PREFIX kg: <{KG}>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""
LABELS_QUERY = PREFIXES + """SELECT DISTINCT ?thing ?label WHERE {
  ?thing rdfs:label ?label .
  FILTER(isIRI(?thing))
}
ORDER BY ?thing ?label
"""
ASK_QUERY = PREFIXES + f'ASK {{ kg:article rdfs:label "{ARTICLE_TITLE}"@en }}\n'
CONSTRUCT_QUERY = PREFIXES + "CONSTRUCT { kg:article rdfs:label ?l } WHERE { kg:article rdfs:label ?l }\n"
# Relative IRIs resolve against the base IRI, as the stored queries write them; the page names them so too.
RELATIVE_QUERY = "BASE <id/>\nPREFIX own: <>\nSELECT ?x WHERE { VALUES ?x { own:article <rferl> } }\n"
SYNTAX_ERROR_QUERY = "SELECT * WHERE { ?s ?p }\n"
# The engine's message with its position (line 2, column 1: where the missing object was due); the words after
# the position are the parser's own and left free.
SYNTAX_ERROR_MESSAGE = r"SPARQL syntax error: error at 2:1: .+\nline 2, column 1:\n\s*\n\s*\^"
HOSTILE_LITERAL = '<script>window.pwned = 1</script><img src="x" onerror="window.pwned = 2">&amp;'
# The query text itself tries to break out of the <textarea>; the literal and the IRI try the table.
HOSTILE_QUERY = f"""# </textarea><script>window.pwned = 3</script>
SELECT ?text ?link WHERE {{
  VALUES (?text ?link) {{ ('{HOSTILE_LITERAL}' <javascript:window.pwned=4>) }}
}}
"""

EXAMPLES = {
    "labels.rq": "#+ title: Everything with a label <& more>\n"
                 "#+ description: One row per labelled IRI.\n"
                 "#+ tags: test, labels\n" + LABELS_QUERY,
    "describe-article.rq": "#+ title: The article, described\n" + PREFIXES + "DESCRIBE kg:article\n",
}


# --- fixtures ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's ontology and graph, with this module's own stored queries."""
    root = tmp_path_factory.mktemp("page-data")
    for name in ("ontology", "graph"):
        (root / name).symlink_to(PROJECT_ROOT / name, target_is_directory=True)
    (root / "queries").mkdir()
    for name, text in EXAMPLES.items():
        (root / "queries" / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def site(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    # Without the built editor (KG_UI_DIR=""): the page everyone gets without Node.js, and what the editor
    # falls back to; tests/test_editor.py tests the page with YASGUI.
    running = start_server(tmp_path_factory.mktemp("page-server"), "--data-dir", str(data_dir),
                           env={"KG_UI_DIR": ""})
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def tab_off(browser: Browser) -> Iterator[Tab]:
    tab = open_tab(browser, javascript=False)
    yield tab
    tab.close()


@pytest.fixture
def tab_on(browser: Browser) -> Iterator[Tab]:
    tab = open_tab(browser, javascript=True)
    yield tab
    tab.close()
    assert tab.problems == [], "console errors, CSP violations or uncaught exceptions in the page"


@pytest.fixture(scope="module")
def independent_store() -> ox.Store:
    """The Turtle files loaded straight into pyoxigraph, one named graph per file (not the server's loader)."""
    store = ox.Store()
    files = [p for p in sorted((PROJECT_ROOT / "ontology").glob("*.ttl")) if p.name != "shapes.ttl"]
    files += sorted((PROJECT_ROOT / "graph").glob("*.ttl"))
    for path in files:
        store.load(path=path, format=ox.RdfFormat.TURTLE, base_iri=BASE_IRI, to_graph=ox.NamedNode(
            f"{BASE_IRI}graph/test-{path.stem}"))
    return store


@pytest.fixture(scope="module")
def expected_labels(independent_store: ox.Store) -> Rows:
    """(IRI, label, language) rows of LABELS_QUERY, from the Turtle files loaded straight into pyoxigraph."""
    rows = independent_store.query(LABELS_QUERY, use_default_graph_as_union=True)
    expected = [(row["thing"].value, row["label"].value, row["label"].language) for row in rows]
    assert (ARTICLE, ARTICLE_TITLE, "en") in expected  # the one fact the brief guarantees
    return expected


# --- helpers ----------------------------------------------------------------------------------------

def table_rows(page: Page) -> list[list[str]]:
    return page.eval_on_selector_all(
        "#result-table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))"
    )


def label_rows(page: Page) -> Rows:
    """The (IRI, label, language) rows the page shows, read back from the DOM."""
    cells = page.eval_on_selector_all(
        "#result-table tbody tr",
        """rows => rows.map(r => [
             r.cells[0].querySelector('.iri').getAttribute('title'),
             r.cells[1].querySelector('.literal').textContent,
             r.cells[1].querySelector('.literal').getAttribute('lang')])""",
    )
    return [(iri, label, lang) for iri, label, lang in cells]


def check_labels_page(page: Page, expected: Rows) -> None:
    assert label_rows(page) == expected
    assert page.inner_text("#result-meta .count") == f"{len(expected)} rows"
    assert re.fullmatch(r"\d+\.\d ms", page.inner_text("#result-meta .time"))
    headers = page.eval_on_selector_all("#result-table th", "hs => hs.map(h => h.textContent.trim())")
    assert headers == ["?thing", "?label"]
    # Our own IRIs: by their label (the prefixed name kept in data-name, the IRI on hover), linked to the
    # resource's path on this server. Languages and datatypes are not printed after every value.
    article = page.locator(f"#result-table a.iri[title='{ARTICLE}']")
    assert article.count() == len([row for row in expected if row[0] == ARTICLE])
    assert article.first.inner_text() == ARTICLE_TITLE
    assert article.first.get_attribute("href") == "/id/article"
    assert article.first.get_attribute("data-name") == "kg:article"
    row = article.first.locator("xpath=ancestor::tr")
    assert row.locator(".literal").inner_text() == ARTICLE_TITLE
    assert row.locator(".literal").get_attribute("title") == "language: en"
    assert page.locator("#result-table .lang, #result-table .datatype").count() == 0
    assert "@en" not in page.inner_text("#result-table")
    # One download link per result format, each for this very query.
    links = page.eval_on_selector_all(".downloads a", "as => as.map(a => [a.dataset.format, a.href])")
    assert [fmt for fmt, _ in links] == ["json", "xml", "csv", "tsv"]
    for fmt, href in links:
        parts = urlsplit(href)
        assert parts.path == "/sparql"
        assert parse_qs(parts.query) == {"query": [LABELS_QUERY], "format": [fmt]}


def check_hostile_page(page: Page) -> None:
    cells = table_rows(page)
    assert cells == [[HOSTILE_LITERAL, "javascript:window.pwned=4"]]
    assert page.locator("#results script, #results img").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.input_value("#query") == HOSTILE_QUERY
    assert page.locator("script").count() == 2  # ours: query.js and the JSON data block
    assert page.evaluate("() => window.pwned") is None  # nothing of it ran


def check_relative_page(page: Page) -> None:
    links = page.eval_on_selector_all("#result-table a.iri", "as => as.map(a => [a.dataset.name, a.pathname])")
    assert links == [["own:article", "/id/article"], ["own:rferl", "/id/rferl"]]
    assert page.inner_text("#result-table a.iri[href='/id/article']") == ARTICLE_TITLE


def run_without_js(page: Page, site: RunningServer, query: str) -> int:
    page.goto(site.url + "/")
    page.fill("#query", query)
    with page.expect_navigation() as navigation:
        page.click("#run")
    response = navigation.value
    assert response is not None
    return response.status


# --- plain HTTP: headers, catalogue, redirects --------------------------------------------------------

def test_page_headers(site: RunningServer) -> None:
    response = site.get("/")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    for asset, media in (("query.js", "text/javascript"), ("query.css", "text/css")):
        url = re.search(rf'"(/assets/{re.escape(asset)}\?v=\w+)"', response.text)
        assert url, asset
        got = site.get(url[1])
        assert got.status_code == 200 and got.headers["Content-Type"].startswith(media)
    loaded = re.findall(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="([^"]*)"', response.text)
    assert loaded and all(url.startswith("/assets/") for url in loaded), "nothing comes from elsewhere"


def test_format_choice_redirects_to_the_endpoint(site: RunningServer) -> None:
    response = site.get("/", params={"query": LABELS_QUERY, "format": "csv"}, allow_redirects=False)
    assert response.status_code == 303
    parts = urlsplit(response.headers["Location"])
    assert parts.path == "/sparql" and parse_qs(parts.query) == {"query": [LABELS_QUERY], "format": ["csv"]}
    assert site.get("/", params={"query": LABELS_QUERY, "format": "pdf"}).status_code == 400
    wrong = site.get("/", params={"query": CONSTRUCT_QUERY, "format": "csv"}, allow_redirects=False)
    assert wrong.status_code == 406
    assert "A CONSTRUCT query cannot be given as CSV: choose one of Turtle, N-Triples, JSON-LD, RDF/XML" \
        in _error(wrong.text)


def test_download_links_answer_browsers_with_the_file(site: RunningServer, expected_labels: Rows) -> None:
    browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    media = {"json": "application/sparql-results+json", "xml": "application/sparql-results+xml",
             "csv": "text/csv", "tsv": "text/tab-separated-values"}
    for fmt, media_type in media.items():
        response = site.get("/sparql", params={"query": LABELS_QUERY, "format": fmt},
                            headers={"Accept": browser_accept})
        assert response.status_code == 200, fmt
        assert response.headers["Content-Type"].split(";")[0] == media_type, fmt
    answer = site.get("/sparql", params={"query": LABELS_QUERY, "format": "json"}).json()
    assert [(b["thing"]["value"], b["label"]["value"]) for b in answer["results"]["bindings"]] \
        == [(iri, label) for iri, label, _ in expected_labels]


def test_every_stored_query_of_the_project_loads_and_runs(server: RunningServer) -> None:
    """The real catalogue in queries/: each example is offered, loads into the editor and runs."""
    catalogue = load_catalogue(PROJECT_ROOT / "queries")
    assert "statements-by-speaker" in catalogue  # the loop below has work to do
    page = server.get("/").text
    assert "No stored queries yet." not in page
    for name, stored in catalogue.items():
        assert f'href="/?example={name}"' in page
        loaded = server.get("/", params={"example": name})
        assert loaded.status_code == 200
        # Parameters that all have defaults are shown bound to them; a required one leaves the text as written.
        as_written = not stored.parameters or any(p.required for p in stored.parameters)
        assert _textarea(loaded.text) == (stored.text if as_written else stored.bind({}, BASE_IRI))
        ran = server.get("/", params={"query": _textarea(loaded.text)})
        assert ran.status_code == 200, f"{name}: {_error(ran.text)}"
        assert 'id="error"' not in ran.text
    speaker = _textarea(server.get("/", params={"example": "statements-by-speaker"}).text)
    assert "WHERE { VALUES (?speaker) { (<http://127.0.0.1:8000/id/boris-johnson>) }" in speaker
    assert server.get("/", params={"example": "no-such-query"}).status_code == 404


def _textarea(html: str) -> str:
    import html as html_lib

    match = re.search(r'<textarea id="query"[^>]*>(.*?)</textarea>', html, re.S)
    assert match
    return html_lib.unescape(match[1])


def _error(html: str) -> str:
    match = re.search(r'<pre class="error-message">(.*?)</pre>', html, re.S)
    return match[1] if match else ""


# --- JavaScript off: the plain form ------------------------------------------------------------------

def test_no_js_default_form(site: RunningServer, tab_off: Tab, independent_store: ox.Store) -> None:
    page = tab_off.page
    response = page.goto(site.url + "/")
    assert response is not None and response.status == 200
    default = page.input_value("#query")
    assert "PREFIX kg:" in default and f"<{KG}>" in default and f"<{BASE_IRI}ontology#>" in default
    for prefix in ("rdfs:", "owl:", "schema:", "wd:"):
        assert f"PREFIX {prefix}" in default
    unlabelled = page.eval_on_selector_all("textarea, select, input", "els => els.filter(e => !e.labels.length)"
                                            ".map(e => e.id || e.name)")
    assert unlabelled == []
    assert page.is_visible("label[for=query]") and page.is_visible("label[for=format]")
    assert not page.is_visible("#example-picker")  # the scripted picker; the links below do its job
    assert page.is_visible("#run")
    # The default query runs as it is, and gives the rows it gives on the Turtle files loaded independently.
    expected = len(list(independent_store.query(default, use_default_graph_as_union=True)))
    assert expected == 100  # its LIMIT: the data has more labels than that
    with page.expect_navigation():
        page.click("#run")
    assert page.locator("#result-table tbody tr").count() == expected
    assert page.inner_text("#result-meta .count") == f"{expected} rows"


def test_no_js_select(site: RunningServer, tab_off: Tab, expected_labels: Rows) -> None:
    assert run_without_js(tab_off.page, site, LABELS_QUERY) == 200
    sent = parse_qs(urlsplit(tab_off.page.url).query)["query"]
    assert [q.replace("\r\n", "\n") for q in sent] == [LABELS_QUERY]  # a textarea sends CRLF line ends
    check_labels_page(tab_off.page, expected_labels)
    assert tab_off.page.input_value("#query") == LABELS_QUERY
    tab_off.screenshot("query-page-no-js")


def test_no_js_ask_and_construct(site: RunningServer, tab_off: Tab) -> None:
    page = tab_off.page
    assert run_without_js(page, site, ASK_QUERY) == 200
    assert page.inner_text("#ask-answer") == "Yes"
    assert [a for a in page.eval_on_selector_all(".downloads a", "as => as.map(a => a.dataset.format)")] \
        == ["json", "xml", "csv", "tsv"]
    # A browser that asks the endpoint itself is sent here, and sees the same page.
    page.goto(site.url + "/sparql?" + urlencode({"query": ASK_QUERY, "format": "html"}))
    assert urlsplit(page.url).path == "/" and page.inner_text("#ask-answer") == "Yes"
    page.goto(site.url + "/sparql?" + urlencode({"query": ASK_QUERY}))
    assert urlsplit(page.url).path == "/" and page.inner_text("#ask-answer") == "Yes"
    assert run_without_js(page, site, RELATIVE_QUERY) == 200
    check_relative_page(page)
    assert run_without_js(page, site, CONSTRUCT_QUERY) == 200
    turtle = page.inner_text("#graph-text")
    graph = list(ox.parse(turtle.encode(), ox.RdfFormat.TURTLE))
    assert [(t.subject.value, t.predicate.value, t.object.value) for t in graph] \
        == [(ARTICLE, RDFS_LABEL, ARTICLE_TITLE)]
    assert page.inner_text("#result-meta .count") == "1 triple"
    assert page.eval_on_selector_all(".downloads a", "as => as.map(a => a.dataset.format)") \
        == ["ttl", "nt", "jsonld", "rdfxml"]


def test_no_js_syntax_error(site: RunningServer, tab_off: Tab) -> None:
    assert run_without_js(tab_off.page, site, SYNTAX_ERROR_QUERY) == 400
    box = tab_off.page.locator("#error")
    assert box.is_visible() and box.get_attribute("role") == "alert"
    assert box.locator("h2").inner_text() == "Error 400 · Bad Request"
    assert re.fullmatch(SYNTAX_ERROR_MESSAGE, box.locator(".error-message").inner_text().strip())
    assert tab_off.page.input_value("#query") == SYNTAX_ERROR_QUERY  # kept, to be fixed
    tab_off.screenshot("query-page-error")


def test_no_js_escaping(site: RunningServer, tab_off: Tab) -> None:
    assert run_without_js(tab_off.page, site, HOSTILE_QUERY) == 200
    check_hostile_page(tab_off.page)


def test_no_js_example_links(site: RunningServer, tab_off: Tab) -> None:
    page = tab_off.page
    page.goto(site.url + "/")
    links = page.locator("nav.examples a")
    assert links.all_inner_texts() == ["The article, described", "Everything with a label <& more>"]
    with page.expect_navigation():
        links.nth(1).click()
    assert urlsplit(page.url).query == "example=labels"
    assert page.input_value("#query") == EXAMPLES["labels.rq"]
    assert page.locator("nav.examples li[aria-current]").inner_text().startswith("Everything with a label")


# --- JavaScript on: in place -------------------------------------------------------------------------

def test_js_picker_and_ctrl_enter(site: RunningServer, tab_on: Tab,
                                  expected_labels: Rows) -> None:
    page = tab_on.page
    page.goto(site.url + "/")
    assert page.is_visible("#example-picker") and page.is_visible("#run-hint")
    page.evaluate("() => { window.notReloaded = true; }")
    page.select_option("#example-picker", "labels")
    assert page.input_value("#query") == EXAMPLES["labels.rq"]
    page.click("nav.examples a[data-example='describe-article']")
    assert page.input_value("#query") == EXAMPLES["describe-article.rq"]
    assert page.input_value("#example-picker") == "describe-article"

    page.fill("#query", LABELS_QUERY)
    page.focus("#query")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#result-table")
    assert page.evaluate("() => window.notReloaded") is True, "results must come without a reload"
    check_labels_page(page, expected_labels)
    assert parse_qs(urlsplit(page.url).query)["query"] == [LABELS_QUERY]  # shareable
    tab_on.screenshot("query-page-js")
    page.go_back()  # to the example picked before: the editor follows the address, still no reload
    page.wait_for_function("() => document.getElementById('query').value.includes('DESCRIBE')")
    assert urlsplit(page.url).query == "example=describe-article"
    assert page.input_value("#query") == EXAMPLES["describe-article.rq"]
    assert page.evaluate("() => window.notReloaded") is True


def test_js_graph_ask_error_and_escaping(site: RunningServer, tab_on: Tab) -> None:
    page = tab_on.page
    page.goto(site.url + "/")
    page.evaluate("() => { window.notReloaded = true; }")

    def run(query: str, selector: str) -> None:
        page.fill("#query", query)
        page.click("#run")
        page.wait_for_selector(selector)

    run(CONSTRUCT_QUERY, "#graph-text")
    graph = list(ox.parse(page.inner_text("#graph-text").encode(), ox.RdfFormat.TURTLE))
    assert [(t.subject.value, t.object.value) for t in graph] == [(ARTICLE, ARTICLE_TITLE)]
    assert page.eval_on_selector_all(".downloads a", "as => as.map(a => a.dataset.format)") \
        == ["ttl", "nt", "jsonld", "rdfxml"]
    run(RELATIVE_QUERY, "#result-table")
    check_relative_page(page)
    run(ASK_QUERY, "#ask-answer")
    assert page.inner_text("#ask-answer") == "Yes"
    run(SYNTAX_ERROR_QUERY, "#error")
    assert page.locator("#error h2").inner_text() == "Error 400 · Bad Request"  # worded as without JS
    assert re.fullmatch(SYNTAX_ERROR_MESSAGE, page.locator("#error .error-message").inner_text().strip())
    tab_on.problems[:] = [p for p in tab_on.problems if "400" not in p]  # the failed fetch is logged
    run(HOSTILE_QUERY, "#result-table")
    check_hostile_page(page)
    assert page.evaluate("() => window.notReloaded") is True


def test_narrow_screen(site: RunningServer, browser: Browser) -> None:
    tab = open_tab(browser, javascript=True, width=375, height=800)
    try:
        tab.page.goto(site.url + "/?" + urlencode({"query": LABELS_QUERY + "LIMIT 6\n"}))
        assert tab.page.locator("#result-table tbody tr").count() == 6
        overflow = tab.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, "the page must not scroll sideways on a phone (the table scrolls by itself)"
        tab.screenshot("query-page-narrow", full_page=True)
        assert tab.problems == []
    finally:
        tab.close()


def test_js_a_silent_service_that_failed_is_noted_above_the_results(site: RunningServer, tab_on: Tab) -> None:
    """The test servers route Wikidata to a closed port: SERVICE SILENT answers, and the page says what failed."""
    page = tab_on.page
    page.goto(site.url + "/")
    page.fill("#query", "SELECT ?x WHERE { SERVICE SILENT <https://query.wikidata.org/sparql> { ?s ?p ?x } }")
    page.click("#run")
    page.wait_for_selector("#service-failures")
    note = page.inner_text("#service-failures")
    assert note.startswith("Answered without a remote endpoint (SERVICE SILENT)")
    assert "SERVICE <https://query.wikidata.org/sparql> could not be reached: ConnectionRefusedError" in note
    assert page.locator(".results-head + #service-failures").count() == 1  # above the results
