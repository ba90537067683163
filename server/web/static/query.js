// Progressive enhancement of the query page: the plain form works without this file.
// With it: Ctrl+Enter (Cmd+Enter) runs, results come from /sparql and are rendered in place, the picker fills
// the editor. Every value is put into the page with textContent or setAttribute, never as HTML.
(function () {
  "use strict";

  const data = JSON.parse(document.getElementById("page-data").textContent);
  const form = document.getElementById("query-form");
  const editor = document.getElementById("query");
  const format = document.getElementById("format");
  const runButton = document.getElementById("run");
  const picker = document.getElementById("example-picker");
  const results = document.getElementById("results");
  const status = document.getElementById("status"); // a live region: says what happened, not the whole table
  const XSD_STRING = "http://www.w3.org/2001/XMLSchema#string";
  const NUMERIC = /^http:\/\/www\.w3\.org\/2001\/XMLSchema#(integer|decimal|double|float|int|long|short|byte|negativeInteger|positiveInteger|nonNegativeInteger|nonPositiveInteger|unsignedInt|unsignedLong|unsignedShort|unsignedByte)$/;
  const PREFIX_DECL = /^\s*PREFIX\s+([A-Za-z][\w.-]*)?:\s*<([^<>"{}|^`\\\s]*)>/gim;
  const BASE_DECL = /^\s*BASE\s*<([^<>"{}|^`\\\s]*)>/im;
  const LOCAL_NAME = /^(?:[A-Za-z0-9_](?:[\w.-]*[\w-])?)?$/;
  const REASONS = { 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    406: "Not Acceptable", 413: "Request Entity Too Large", 415: "Unsupported Media Type",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout" }; // as the server-rendered page words them
  const GET_LIMIT = 2000; // longer queries are POSTed: proxies and servers cap the request line
  let running = null;

  document.documentElement.classList.add("js");

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) node.setAttribute(k, v);
    for (const c of children) if (c !== null && c !== undefined) node.append(c); // strings become text nodes
    return node;
  }

  // --- terms, as the server renders them (html.Namer) ---
  function resolve(iri, base) {
    try { return new URL(iri, base).href; } catch (e) { return iri; }
  }

  // Ours, the common ones, then the query's own, relative ones resolved as the engine does (PREFIX kg: <id/>).
  function prefixesFor(query) {
    const prefixes = Object.assign({}, data.prefixes);
    const declaredBase = BASE_DECL.exec(query);
    const base = declaredBase ? resolve(declaredBase[1], data.baseIri) : data.baseIri;
    for (const m of query.matchAll(PREFIX_DECL)) prefixes[m[1] || ""] = resolve(m[2], base);
    return prefixes;
  }

  function shortName(iri, prefixes) {
    let best = null;
    for (const [prefix, ns] of Object.entries(prefixes)) {
      if (ns && iri.startsWith(ns) && LOCAL_NAME.test(iri.slice(ns.length)) && (!best || ns.length >= best[0])) {
        best = [ns.length, prefix + ":" + iri.slice(ns.length)];
      }
    }
    return best ? best[1] : null;
  }

  function hrefFor(iri) {
    if (iri.startsWith(data.baseIri)) return data.root + "/" + iri.slice(data.baseIri.length);
    if (/^https?:\/\//i.test(iri)) return iri;
    return null; // javascript:, data:, file: ... are shown, never linked
  }

  // Our IRIs by their label (the prefixed name in data-name, the IRI on hover), others by prefixed name.
  function iriNode(iri, prefixes) {
    const name = shortName(iri, prefixes) || iri;
    const label = (data.labels || {})[iri];
    const attrs = { class: label ? "iri labelled" : "iri", title: iri, "data-name": label ? name : null };
    const href = hrefFor(iri);
    return href ? el("a", Object.assign({ href: href }, attrs), label || name) : el("span", attrs, label || name);
  }

  function termNode(term, prefixes) {
    if (!term) return el("span", { class: "unbound", title: "unbound" }, "–");
    if (term.type === "uri") return iriNode(term.value, prefixes);
    if (term.type === "bnode") return el("span", { class: "bnode" }, "_:" + term.value);
    if (term.type === "triple") {
      const t = term.value;
      return el("span", { class: "triple" }, "<< ", termNode(t.subject, prefixes), " ",
        termNode(t.predicate, prefixes), " ", termNode(t.object, prefixes), " >>");
    }
    // The language or datatype quietly, in the tooltip (as the server renders it: _terms.html).
    const lang = term["xml:lang"];
    const datatype = !lang && term.datatype && term.datatype !== XSD_STRING ? term.datatype : null;
    return el("span", {
      class: NUMERIC.test(term.datatype || "") ? "literal number" : "literal",
      lang: lang || null,
      title: lang ? "language: " + lang : datatype ? "datatype: " + (shortName(datatype, prefixes) || datatype) : null,
      "data-datatype": datatype,
    }, term.value);
  }

  // --- results ---
  function plural(n, one, many) { return n.toLocaleString("en") + " " + (n === 1 ? one : many); }

  function downloadLinks(query, formats) {
    const p = el("p", { class: "downloads" }, "Download: ");
    formats.forEach((f, i) => {
      const url = data.endpoint + "?" + new URLSearchParams({ query: query, format: f.name });
      if (i) p.append(" · ");
      p.append(el("a", { href: url, "data-format": f.name, type: f.media_type }, f.label));
    });
    return p;
  }

  function head(countText, ms, query, formats) {
    status.textContent = "Results: " + countText + ", " + ms.toFixed(0) + " ms";
    return el("div", { class: "results-head" },
      el("h2", { id: "results-heading" }, "Results"),
      el("p", { class: "meta", id: "result-meta" },
        el("span", { class: "count" }, countText), " · ", el("span", { class: "time" }, ms.toFixed(1) + " ms")),
      downloadLinks(query, formats));
  }

  function renderJson(answer, query, ms) {
    const prefixes = prefixesFor(query);
    if ("boolean" in answer) {
      const yes = Boolean(answer.boolean);
      results.replaceChildren(head("ASK", ms, query, data.formats.results),
        el("p", { class: "boolean boolean-" + (yes ? "yes" : "no"), id: "ask-answer" }, yes ? "Yes" : "No"));
      return;
    }
    const vars = (answer.head && answer.head.vars) || [];
    const rows = (answer.results && answer.results.bindings) || [];
    const parts = [head(plural(rows.length, "row", "rows"), ms, query, data.formats.results)];
    if (rows.length > data.maxRows) {
      parts.push(el("p", { class: "notice" }, "Showing the first " + data.maxRows.toLocaleString("en") +
        " rows; download the file for all of them."));
    }
    if (!rows.length) {
      parts.push(el("p", { class: "muted", id: "no-rows" }, "No rows matched."));
    } else {
      const headRow = el("tr", null, ...vars.map((v) => el("th", { scope: "col" }, "?" + v)));
      const body = el("tbody");
      for (const row of rows.slice(0, data.maxRows)) {
        body.append(el("tr", null, ...vars.map((v) => {
          const node = termNode(row[v], prefixes);
          return el("td", node.classList && node.classList.contains("number") ? { class: "num" } : null, node);
        })));
      }
      parts.push(el("div", { class: "table-wrap", role: "region", "aria-label": "Results table", tabindex: "0" },
        el("table", { id: "result-table" }, el("thead", null, headRow), body)));
    }
    results.replaceChildren(...parts);
  }

  function renderGraph(text, query, ms) {
    const kb = new Blob([text]).size / 1024;
    results.replaceChildren(
      head("Turtle, " + (kb < 10 ? kb.toFixed(1) : Math.round(kb)) + " KB", ms, query, data.formats.graph),
      el("pre", { class: "graph", id: "graph-text", tabindex: "0", "aria-label": "Result graph in Turtle" }, text));
  }

  function renderError(code, reason, message) {
    status.textContent = "";
    results.replaceChildren(el("div", { class: "error", role: "alert", id: "error" },
      el("h2", { id: "results-heading" }, code ? "Error " + code + " · " + reason : reason),
      el("pre", { class: "error-message" }, message)));
  }

  function errorMessage(body, contentType) {
    if (/json/.test(contentType)) {
      try {
        const j = JSON.parse(body);
        return j.message || j.error || body;
      } catch (e) { /* not JSON after all: show it as it is */ }
    }
    return body.trim();
  }

  // --- running ---
  async function run() {
    const query = editor.value;
    if (!query.trim()) {
      renderError(400, "Bad Request", "The query is empty: type one, or pick an example.");
      return;
    }
    if (running) running.abort();
    const controller = new AbortController();
    running = controller;
    runButton.disabled = true;
    results.setAttribute("aria-busy", "true");
    results.replaceChildren(el("p", { class: "running", id: "running" }, "Running…"));
    status.textContent = "Running the query";
    const params = new URLSearchParams({ query: query });
    const headers = { Accept: "application/sparql-results+json, text/turtle;q=0.9" };
    const started = performance.now();
    try {
      const getUrl = data.endpoint + "?" + params;
      const response = getUrl.length <= GET_LIMIT
        ? await fetch(getUrl, { headers: headers, signal: controller.signal })
        : await fetch(data.endpoint, {
          method: "POST", body: params, signal: controller.signal,
          headers: Object.assign({ "Content-Type": "application/x-www-form-urlencoded" }, headers),
        });
      const body = await response.text();
      const ms = performance.now() - started;
      const type = response.headers.get("Content-Type") || "";
      if (!response.ok) {
        renderError(response.status, REASONS[response.status] || response.statusText || "Error",
          errorMessage(body, type));
      } else if (/json/.test(type)) {
        renderJson(JSON.parse(body), query, ms);
      } else {
        renderGraph(body, query, ms);
      }
      const pageUrl = data.root + "/?" + new URLSearchParams({ query: query });
      if (pageUrl.length <= GET_LIMIT && location.pathname + location.search !== pageUrl) {
        history.pushState({ query: query }, "", pageUrl);
      }
    } catch (e) {
      if (e.name === "AbortError") return;
      renderError(0, "The query could not be sent", String(e.message || e));
    } finally {
      if (running === controller) {
        running = null;
        runButton.disabled = false;
        results.removeAttribute("aria-busy");
      }
    }
  }

  form.addEventListener("submit", (event) => {
    if (format.value) return; // a file in another format: let the browser fetch it
    event.preventDefault();
    run();
  });

  editor.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (format.value) form.requestSubmit(); else run();
    }
  });

  // --- examples ---
  function loadExample(name) {
    if (!(name in data.examples)) return;
    editor.value = data.examples[name];
    if (picker) picker.value = name;
    document.querySelectorAll("nav.examples li").forEach((li) => {
      const a = li.querySelector("a[data-example]");
      if (a && a.dataset.example === name) li.setAttribute("aria-current", "true");
      else li.removeAttribute("aria-current");
    });
    history.pushState({ example: name }, "", data.root + "/?" + new URLSearchParams({ example: name }));
  }

  // On a narrow screen the picker above does the list's job: fold the list so the results come sooner.
  const list = document.getElementById("examples");
  if (list && picker && window.matchMedia("(max-width: 61.99rem)").matches) list.open = false;

  // Once the text is edited it is no longer the example: say so in the picker and the list.
  editor.addEventListener("input", () => {
    if (picker && picker.value && data.examples[picker.value] !== editor.value) {
      picker.value = "";
      document.querySelectorAll("nav.examples li[aria-current]").forEach((li) => li.removeAttribute("aria-current"));
    }
  });

  if (picker) {
    picker.addEventListener("change", () => {
      if (picker.value) loadExample(picker.value);
    });
  }
  document.querySelectorAll("nav.examples a[data-example]").forEach((a) => {
    a.addEventListener("click", (event) => {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return; // new tab etc.
      event.preventDefault();
      loadExample(a.dataset.example);
      editor.focus();
    });
  });

  // Back and forward: restore what the URL says (the server would have rendered the same).
  window.addEventListener("popstate", () => {
    const params = new URLSearchParams(location.search);
    if (params.has("query")) {
      editor.value = params.get("query");
      run();
    } else if (params.has("example") && params.get("example") in data.examples) {
      editor.value = data.examples[params.get("example")];
      if (picker) picker.value = params.get("example");
    } else {
      location.reload();
    }
  });
})();
