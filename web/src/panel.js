// A result with a switcher among the views that fit it, for the overview and the stored-query pages
// (the editor page uses YASR's own switcher with the same views as plugins).
import { data, el, termNode } from "./terms.js";
import { VIEWS, defaultViewOf, draw, fittingViews } from "./views.js";

export async function fetchResults(query) {
  const params = new URLSearchParams({ query });
  const headers = { Accept: "application/sparql-results+json" };
  const url = data.endpoint + "?" + params;
  const response = url.length <= 2000
    ? await fetch(url, { headers })
    : await fetch(data.endpoint, { method: "POST", body: params, headers });
  const body = await response.text();
  if (!response.ok) throw new Error(body.trim() || response.statusText);
  return JSON.parse(body);
}

export function resultTable(results) {
  const vars = results.head.vars || [];
  const body = el("tbody");
  for (const row of results.results.bindings) {
    body.append(el("tr", null, ...vars.map((v) => {
      const node = termNode(row[v]);
      const numeric = node.classList && node.classList.contains("number");
      return el("td", numeric ? { class: "num" } : null, node);
    })));
  }
  return el("div", { class: "table-wrap" }, el("table", { class: "result-table" },
    el("thead", null, el("tr", null, ...vars.map((v) => el("th", { scope: "col" }, "?" + v)))), body));
}

// Draws `results` into `host` in the query's #defaultView (or `preferred`), with buttons for the others.
export async function mountViews(host, results, query, preferred) {
  const views = fittingViews(results);
  const wanted = preferred || defaultViewOf(query);
  const current = views.includes(wanted) ? wanted : "table";
  const switcher = el("div", { class: "view-switcher", role: "group", "aria-label": "Show the result as" });
  const stage = el("div", { class: "view-stage" });
  host.replaceChildren(switcher, stage);
  host.dataset.views = views.join(" ");
  async function show(view) {
    host.dataset.view = view;
    for (const b of switcher.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.view === view));
    stage.className = "view-stage";
    if (view === "table") {
      stage.replaceChildren(resultTable(results));
      host.dataset.drawn = "table";
      return;
    }
    await draw(view, stage, results);
    host.dataset.drawn = view;
  }
  for (const v of views) {
    const b = el("button", { type: "button", "data-view": v, "aria-pressed": "false" }, VIEWS[v]);
    b.addEventListener("click", () => show(v));
    switcher.append(b);
  }
  await show(current);
}
