// The query page's editor: YASGUI (@zazuko/yasgui) on this endpoint only. Autocomplete comes from this
// graph (its prefixes, the ontology's classes and properties), never from prefix.cc or LOV; the result views
// (bar chart, timeline, network) are YASR plugins; a `#defaultView:` comment picks the view (WDQS style).
import Yasgui from "@zazuko/yasgui";
import "@zazuko/yasgui/build/yasgui.min.css";
import "./views.css";
import { data, isNumber, termHtml } from "./terms.js";
import { VIEWS, defaultViewOf, draw, fittingViews } from "./views.js";

const { Yasqe, Yasr } = Yasgui;

// --- autocomplete, offline ---
Yasqe.forkAutocompleter("prefixes", {
  name: "kgPrefixes",
  get: () => Object.entries(data.prefixes).filter(([p, ns]) => p && ns).map(([p, ns]) => `${p}: <${ns}>`).sort(),
  persistenceId: null,
});
Yasqe.forkAutocompleter("class", { name: "kgClasses", get: () => data.terms.classes, bulk: true, persistenceId: null });
Yasqe.forkAutocompleter("property", { name: "kgProperties", get: () => data.terms.properties, bulk: true, persistenceId: null });
Yasqe.defaults.autocompleters = ["kgPrefixes", "variables", "kgClasses", "kgProperties"];

// --- table: readable cells (labels for our IRIs, numbers right-aligned, datatype and language on hover) ---
const BaseTable = Yasr.plugins.table;
class Table extends BaseTable {
  // Sorting and searching use the plain value: YASR would run it through DOMPurify, whose parse of a value
  // such as '<img onerror=...>' is refused by the page's Content-Security-Policy (a console error, though
  // nothing runs). Values are shown only through getCellContent, built with the DOM.
  getColumns() {
    return super.getColumns().map((column, i) => (i === 0 ? column : {
      ...column,
      render: (term, type) => (term === "" ? term : type === "display" ? this.getCellContent(term, this.yasr.getPrefixes())
        : term.value),
    }));
  }

  getCellContent(term, prefixes) {
    return `<div${isNumber(term) ? ' class="num"' : ""}>${termHtml(term, Object.assign({}, data.prefixes, prefixes))}</div>`;
  }
}
Yasr.registerPlugin("table", Table);

// --- the views as YASR plugins ---
function viewPlugin(view, priority) {
  return class {
    constructor(yasr) {
      this.yasr = yasr;
      this.label = VIEWS[view];
      this.priority = priority;
      this.hideFromSelection = false;
    }
    sparqlJson() {
      const r = this.yasr.results;
      if (!r || r.getError() || r.getBoolean() !== undefined) return null;
      const vars = r.getVariables();
      const bindings = r.getBindings();
      return vars && bindings ? { head: { vars }, results: { bindings } } : null;
    }
    canHandleResults() {
      const json = this.sparqlJson();
      return Boolean(json && fittingViews(json).includes(view));
    }
    getIcon() {
      const icon = document.createElement("span");
      icon.className = "view-icon view-icon-" + view;
      return icon;
    }
    async draw() {
      const host = document.createElement("div");
      host.className = "yasr-view";
      host.id = "view-" + view;
      this.yasr.resultsEl.append(host);
      await draw(view, host, this.sparqlJson());
      host.dataset.drawn = view;
    }
  };
}
Yasr.registerPlugin("bar", viewPlugin("bar", 3));
Yasr.registerPlugin("timeline", viewPlugin("timeline", 2));
Yasr.registerPlugin("graph", viewPlugin("graph", 1));
Yasr.defaults.pluginOrder = ["table", "bar", "timeline", "graph", "response"];
Yasr.defaults.defaultPlugin = "table";
Yasr.defaults.prefixes = data.prefixes;

// --- the editor on the page ---
const form = document.getElementById("query-form");
const textarea = document.getElementById("query");
const params = new URLSearchParams(location.search);
const endpoint = new URL(data.endpoint, location.href).href;
const host = document.getElementById("yasgui");
document.documentElement.classList.add("has-editor");

Yasgui.defaults.requestConfig.endpoint = endpoint; // never dbpedia.org, YASGUI's own default
Yasgui.defaults.requestConfig.method = "POST";
const yasgui = new Yasgui(host, {
  requestConfig: { endpoint, method: "POST" },
  copyEndpointOnNewTab: true,
  populateFromUrl: false,
  autofocus: true,
  persistenceId: "nato-kg-" + data.baseIri,
  endpointCatalogueOptions: { getData: () => [{ endpoint }], keys: [] },
  yasqe: { value: data.defaultQuery, resizeable: true, editorHeight: "320px" },
  yasr: { prefixes: data.prefixes },
});
window.yasgui = yasgui; // for people who script the page from the console, and for the tests

// A query or example named in the URL opens in a tab of its own (the no-JavaScript page's links keep working).
// YASGUI's share links come back here too: their tabTitle and outputFormat (the view) are honoured.
const chosenView = new WeakSet(); // tabs whose view the link chose: #defaultView does not override it
if (params.has("query") || params.has("example")) {
  const name = params.get("tabTitle") || (params.has("example") && data.examples[params.get("example")]
    ? data.exampleTitles[params.get("example")] : undefined);
  const tab = yasgui.addTab(true, { ...Yasgui.Tab.getDefaults(yasgui), name, yasqe: { value: textarea.value } },
    { avoidDuplicateTabs: true });
  const view = params.get("outputFormat");
  if (view && tab.getYasr().plugins[view]) {
    tab.getYasr().selectedPlugin = view;
    chosenView.add(tab);
  }
  if (params.has("query")) tab.getYasqe().query();
}

// #defaultView: picks the view for the answer (YASGUI announces the answer just before YASR draws it; YASR
// falls back to the table when the view does not fit); the user can switch among the others that fit.
yasgui.on("queryResponse", (instance, tab) => {
  if (chosenView.delete(tab)) return;
  const view = defaultViewOf(tab.getYasqe().getValue());
  const yasr = tab.getYasr();
  if (view && view in yasr.plugins) yasr.selectedPlugin = view;
});

// The examples list fills a new tab.
document.querySelectorAll("nav.examples a[data-example]").forEach((a) => {
  a.addEventListener("click", (event) => {
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    const name = a.dataset.example;
    yasgui.addTab(true, { ...Yasgui.Tab.getDefaults(yasgui), name: data.exampleTitles[name], yasqe: { value: data.examples[name] } },
      { avoidDuplicateTabs: true });
  });
});
form.hidden = true;
const serverResults = document.getElementById("results");
if (serverResults) serverResults.hidden = true; // YASGUI shows the answer
