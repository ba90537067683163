"""Resource pages as a person sees them (real headless Chromium, JavaScript off) and a crawl of the whole
site from `/` that finds no broken internal link."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import pytest
import requests
from playwright.sync_api import Browser
from rdflib.namespace import RDFS
from support.browser import chromium, open_tab
from support.ld_reference import KG, KGO, union
from support.servers import RunningServer

MAX_PAGES = 1500  # bound on the crawl: the site has a few hundred HTML pages
# Links that differ only in the resource (its RDF documents, its SPARQL query) are checked for the first few
# resources only: every HTML page is fetched, but not every resource's five other formats.
SAMPLED = [(re.compile(r"^/doc/[^?]+\.(ttl|nt|jsonld|rdf)$"), "/doc/*.{}"), (re.compile(r"^/\?query=()"), "/?query{}"),
           (re.compile(r"^/sparql\?()"), "/sparql{}"), (re.compile(r"^/queries/[^?]+\?format=(\w+)"), "/queries/*?{}")]
PER_PATTERN = 8


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def label(iri: object) -> str:
    return str(union().value(iri, RDFS.label))


def test_person_page_in_chromium(server: RunningServer, browser: Browser) -> None:
    """Boris Johnson's page: label, type, Wikidata, his statements with their quotes marked in the sentence."""
    tab = open_tab(browser, javascript=False)
    try:
        response = tab.page.goto(server.url + "/id/boris-johnson")
        assert response is not None and response.status == 200
        assert tab.page.url == server.url + "/doc/boris-johnson"  # after the 303
        page = tab.page
        assert page.inner_text("h1") == "Boris Johnson"
        assert page.inner_text(".kinds") == "person"
        assert page.get_attribute(".kinds a", "href") == "/ontology#Person"
        assert page.get_attribute(".wikidata a", "href") == "https://www.wikidata.org/wiki/Q180589"
        # Every statement he made, each with its quotes marked inside the sentences that report it.
        made = {s for s in union().subjects(KGO.speaker, KG["boris-johnson"])}
        assert len(made) == 9  # so the checks below compare something
        titles = page.eval_on_selector_all("#statements h3 a", "as => as.map(a => a.getAttribute('href'))")
        assert sorted(titles) == sorted(f"/id/{str(s).rsplit('/', 1)[-1]}" for s in made)
        marked = set(page.eval_on_selector_all("#statements mark", "ms => ms.map(m => m.textContent)"))
        quotes = {str(q) for s in made for q in union().objects(s, KGO.quote)}
        assert len(quotes) == 8 and marked == quotes
        blow_link = page.locator("a[href='/id/statement-johnson-blow-to-russian-intelligence']")
        blow = blow_link.locator("xpath=ancestor::li[1]")
        assert blow.locator("blockquote").count() == 2  # the caption and the body both report it
        assert blow.locator("mark").first.inner_text() == ("blow from which Russian intelligence will need many "
                                                           "years to recover")
        # The property table links our IRIs locally, with their labels.
        positions = list(union().objects(KG["boris-johnson"], KGO.holdsPosition))
        assert positions == [KG["uk-foreign-secretary"]]
        for position in positions:
            link = page.locator(f"#properties a[href='/id/{str(position).rsplit('/', 1)[-1]}']")
            assert link.inner_text() == label(position)
        links = page.eval_on_selector_all("#data a", "as => as.map(a => a.getAttribute('href'))")
        assert links[:4] == [f"/doc/boris-johnson.{e}" for e in ("ttl", "nt", "jsonld", "rdf")]
        assert links[4].startswith("/?query=")
        assert page.locator("script").count() == 0
        tab.screenshot("resource-boris-johnson", full_page=True)
        assert tab.problems == [], "console errors or CSP violations"
    finally:
        tab.close()


def test_statement_page_query_link_returns_the_page_data(server: RunningServer, browser: Browser) -> None:
    tab = open_tab(browser, javascript=False)
    try:
        tab.page.goto(server.url + "/doc/statement-london-blames-moscow.html")
        assert tab.page.inner_text("h1") == label(KG["statement-london-blames-moscow"])
        assert tab.page.locator("#sources blockquote").count() == 3
        tab.page.click("#data a:has-text('SPARQL query')")
        tab.page.wait_for_selector("pre.graph")
        assert "statement-london-blames-moscow" in tab.page.inner_text("pre.graph")
        tab.screenshot("resource-statement-query")
    finally:
        tab.close()


def test_not_found_page_in_chromium(server: RunningServer, browser: Browser) -> None:
    tab = open_tab(browser, javascript=False)
    try:
        response = tab.page.goto(server.url + "/id/stoltenbrg")
        assert response is not None and response.status == 404
        tab.page.fill("#q", "Stoltenberg")
        with tab.page.expect_navigation():
            tab.page.click("form.search button")
        assert tab.page.url.endswith("/search?q=Stoltenberg")
        tab.page.click("a[href='/id/jens-stoltenberg']")
        assert tab.page.inner_text("h1") == str(union().value(KG["jens-stoltenberg"], RDFS.label))
        # Chromium reports the 404 status of the page itself on the console; nothing else may appear there.
        assert [p for p in tab.problems if "status of 404" not in p] == []
    finally:
        tab.close()


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"a": "href", "link": "href", "script": "src", "img": "src"}.get(tag)
        values = dict(attrs)
        if wanted and values.get(wanted):
            self.links.append(values[wanted] or "")


def test_crawl_finds_no_broken_internal_link(server: RunningServer) -> None:
    """Every internal link from `/` on, followed through redirects; HTML pages are parsed for more links."""
    origin = server.url
    session = requests.Session()
    session.headers["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    seen = {origin + "/"}
    queue = deque([(origin + "/", "(start)")])
    broken: list[str] = []
    sampled: dict[str, int] = {}
    pages = 0
    while queue and pages < MAX_PAGES:
        url, source = queue.popleft()
        response = session.get(url, timeout=30)
        pages += 1
        if response.status_code >= 400:
            broken.append(f"{response.status_code} {url} (linked from {source})")
            continue
        if not response.headers.get("Content-Type", "").startswith("text/html"):
            continue
        parser = _Links()
        parser.feed(response.text)
        for href in parser.links:
            target = urldefrag(urljoin(response.url, href)).url
            if urlsplit(target).netloc != urlsplit(origin).netloc or target in seen:
                continue
            seen.add(target)
            local = target[len(origin):]
            pattern = next((name.format(m.group(1)) for regex, name in SAMPLED if (m := regex.match(local))), None)
            if pattern is not None:
                sampled[pattern] = sampled.get(pattern, 0) + 1
                if sampled[pattern] > PER_PATTERN:
                    continue
            queue.append((target, response.url))
    assert broken == []
    assert not queue, f"the crawl stopped at {MAX_PAGES} pages with {len(queue)} links left"
    resources = {str(s) for s in union().subjects() if str(s).startswith(str(KG))}
    # Each reached /id/… link as the IRI it names (the server answers on its own port; IRIs use BASE_IRI).
    reached = {str(KG) + unquote(urlsplit(u).path[len("/id/"):]) for u in seen
               if urlsplit(u).path.startswith("/id/")}
    assert resources - reached == set(), "every resource is reachable from /"
    assert pages > 300
