// The result views besides the table: bar chart, timeline, network. Each takes SPARQL JSON results
// ({head: {vars}, results: {bindings}}), says whether it fits them, and draws into a container. The drawing
// libraries are loaded on first use (separate chunks), so the query page's first load stays small.
// Each drawn view records what it drew on its container (data-bars, data-items, data-nodes, data-edges): a
// person reads the picture, a test reads the numbers.
import { classOf, data, el, hrefFor, isDate, isNumber, labelOf, textOf } from "./terms.js";

const RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label";
const EDGE_VARS = /^(property|predicate|relation|edgeLabel)$/i;
// Twenty colours told apart on white (one per class; the network of the article has about that many).
const PALETTE = ["#1f5f99", "#c0392b", "#2e8b57", "#d68910", "#7d3c98", "#17a2b8", "#6e2c00", "#e84393",
  "#566573", "#9acd32", "#0b3d91", "#ff7f50", "#008080", "#8e44ad", "#b7950b", "#5d6d7e", "#a93226", "#1abc9c",
  "#2c3e50", "#d35400"];

const CYTOSCAPE_STYLESHEET_ID = "__________cytoscape_stylesheet";

export const VIEWS = { table: "Table", bar: "Bar chart", timeline: "Timeline", graph: "Network" };
// WDQS names (#defaultView:BarChart) → ours.
const DEFAULT_VIEWS = { table: "table", barchart: "bar", timeline: "timeline", graph: "graph" };

export function defaultViewOf(query) {
  const m = /^\s*#\s*defaultView\s*:\s*(\w+)/im.exec(query || "");
  return m ? DEFAULT_VIEWS[m[1].toLowerCase()] || null : null;
}

function vars(results) { return (results.head && results.head.vars) || []; }
function rows(results) { return (results.results && results.results.bindings) || []; }
function someRow(results, v, test) { return rows(results).some((r) => test(r[v])); }

function barColumns(results) {
  const number = vars(results).find((v) => someRow(results, v, isNumber));
  if (!number) return null;
  const others = vars(results).filter((v) => v !== number && !someRow(results, v, isNumber));
  const label = others.find((v) => /label/i.test(v)) || others[0];
  const link = others.find((v) => someRow(results, v, (t) => t && t.type === "uri")); // what a bar opens
  return label ? { number, label, link: link || label } : null;
}

function timelineColumns(results) {
  const date = vars(results).find((v) => someRow(results, v, isDate));
  if (!date) return null;
  const others = vars(results).filter((v) => v !== date && !someRow(results, v, isDate));
  const label = others.find((v) => /label/i.test(v)) || others.find((v) => someRow(results, v, (t) => t && t.type === "literal"))
    || others[0];
  const link = others.find((v) => someRow(results, v, (t) => t && t.type === "uri"));
  return label ? { date, label, link } : null;
}

function isIri(t) { return Boolean(t && t.type === "uri"); }

function graphColumns(results) {
  const vs = vars(results);
  if (["subject", "predicate", "object"].every((v) => vs.includes(v))) {
    return { source: "subject", property: "predicate", target: "object", triples: true };
  }
  const property = vs.find((v) => EDGE_VARS.test(v));
  const nodes = vs.filter((v) => v !== property && someRow(results, v, isIri));
  return nodes.length >= 2 ? { source: nodes[0], target: nodes[1], property } : null;
}

export function fittingViews(results) {
  if (!results || !results.head) return ["table"];
  const views = ["table"];
  if (!rows(results).length) return views;
  if (barColumns(results)) views.push("bar");
  if (timelineColumns(results)) views.push("timeline");
  if (graphColumns(results)) views.push("graph");
  return views;
}

let echartsModule = null;
async function echarts() {
  if (!echartsModule) {
    const [core, charts, components, renderers] = await Promise.all([
      import("echarts/core"), import("echarts/charts"), import("echarts/components"), import("echarts/renderers")]);
    core.use([charts.BarChart, charts.CustomChart, components.GridComponent, components.TooltipComponent,
      components.DataZoomComponent, renderers.CanvasRenderer]);
    echartsModule = core;
  }
  return echartsModule;
}

function sideList(title, items, cls) {
  if (!items.length) return null;
  return el("aside", { class: "view-aside " + cls }, el("h3", null, title),
    el("ul", null, ...items.map((it) => el("li", null, it))));
}

function linkOrText(term, text) {
  const href = term && term.type === "uri" ? hrefFor(term.value) : null;
  return href ? el("a", { href }, text) : text;
}

function chartBox(container, height) {
  const box = el("div", { class: "chart" });
  box.style.height = height + "px";
  container.append(box);
  return box;
}

// --- bar chart: one bar per row with a number; rows without one are listed, never drawn as 0 ---
export async function drawBar(container, results) {
  const cols = barColumns(results);
  const numbered = rows(results).filter((r) => isNumber(r[cols.number]));
  const without = rows(results).filter((r) => !isNumber(r[cols.number]));
  container.replaceChildren();
  container.classList.add("view", "view-bar");
  const wrap = el("div", { class: "view-body" });
  container.append(wrap);
  const box = chartBox(wrap, Math.max(160, 28 * numbered.length + 60));
  const aside = sideList("Named without a number", without.map((r) => linkOrText(r[cols.link], textOf(r[cols.label]))),
    "without-number");
  if (aside) wrap.append(aside);
  const ec = await echarts();
  const chart = ec.init(box, null, { renderer: "canvas" });
  const labels = numbered.map((r) => textOf(r[cols.label]));
  chart.setOption({
    animation: false,
    grid: { left: 8, right: 40, top: 10, bottom: 24, containLabel: true },
    tooltip: { trigger: "item" },
    xAxis: { type: "value", name: "?" + cols.number, nameLocation: "middle", nameGap: 24 },
    yAxis: { type: "category", data: labels, inverse: true, axisLabel: { width: 220, overflow: "truncate" } },
    series: [{ type: "bar", data: numbered.map((r) => Number(r[cols.number].value)), itemStyle: { color: PALETTE[0] },
      label: { show: true, position: "right" } }],
  });
  chart.on("click", (p) => {
    const term = numbered[p.dataIndex] && numbered[p.dataIndex][cols.link];
    const href = term && term.type === "uri" ? hrefFor(term.value) : null;
    if (href) location.href = href;
  });
  resizeWith(container, chart);
  label(box, `Bar chart of ?${cols.number} by ?${cols.label}: ${numbered.length} bars` +
    (without.length ? `; ${without.length} named without a number, listed beside it` : ""));
  container.dataset.bars = String(numbered.length);
  container.dataset.unnumbered = String(without.length);
  return chart;
}

// --- timeline: dated rows on a time axis (a year spans its year); undated rows listed beside ---
function span(term) {
  const v = term.value;
  const year = /^(-?\d{4})$/.exec(v);
  if (term.datatype.endsWith("#gYear") && year) {
    return [Date.UTC(+year[1], 0, 1), Date.UTC(+year[1] + 1, 0, 1), year[1]];
  }
  const month = /^(\d{4})-(\d{2})$/.exec(v);
  if (term.datatype.endsWith("#gYearMonth") && month) {
    return [Date.UTC(+month[1], +month[2] - 1, 1), Date.UTC(+month[1], +month[2], 1), v];
  }
  const day = Date.parse(v.length === 10 ? v + "T00:00:00Z" : v);
  return Number.isNaN(day) ? null : [day, day + 86400000, v.slice(0, 10)];
}

export async function drawTimeline(container, results) {
  const cols = timelineColumns(results);
  const items = [];
  const undated = [];
  for (const r of rows(results)) {
    const s = isDate(r[cols.date]) ? span(r[cols.date]) : null;
    if (s) items.push({ row: r, start: s[0], end: s[1], when: s[2], text: textOf(r[cols.label]) });
    else undated.push(r);
  }
  items.sort((a, b) => a.start - b.start || a.text.localeCompare(b.text));
  container.replaceChildren();
  container.classList.add("view", "view-timeline");
  const wrap = el("div", { class: "view-body" });
  container.append(wrap);
  const box = chartBox(wrap, Math.max(200, 26 * items.length + 90));
  const aside = sideList("Undated", undated.map((r) => linkOrText(r[cols.link] || r[cols.label], textOf(r[cols.label]))),
    "undated");
  if (aside) wrap.append(aside);
  const ec = await echarts();
  const chart = ec.init(box, null, { renderer: "canvas" });
  const categories = items.map((it, i) => it.when + "  " + it.text + "\u200b".repeat(i)); // unique per row
  const first = Math.min(...items.map((it) => it.start));
  const last = Math.max(...items.map((it) => it.end));
  const margin = Math.max(86400000 * 3, (last - first) * 0.03);
  chart.setOption({
    animation: false,
    grid: { left: 8, right: 24, top: 10, bottom: 60, containLabel: true },
    tooltip: { trigger: "item", formatter: (p) => items[p.dataIndex] ? escapeText(items[p.dataIndex].when + ": " + items[p.dataIndex].text) : "" },
    xAxis: { type: "time", min: first - margin, max: last + margin },
    yAxis: { type: "category", data: categories, inverse: true, axisLabel: { width: 320, overflow: "truncate" } },
    dataZoom: [{ type: "slider", xAxisIndex: 0, bottom: 8 }, { type: "inside", xAxisIndex: 0 }],
    series: [{
      type: "custom",
      encode: { x: [1, 2], y: 0 },
      data: items.map((it, i) => [i, it.start, it.end]),
      renderItem: (params, api) => {
        const start = api.coord([api.value(1), api.value(0)]);
        const end = api.coord([api.value(2), api.value(0)]);
        const height = api.size([0, 1])[1] * 0.6;
        const width = Math.max(8, end[0] - start[0]);
        return { type: "rect", shape: { x: start[0], y: start[1] - height / 2, width, height, r: 3 },
          style: { fill: PALETTE[0] } };
      },
    }],
  });
  chart.on("click", (p) => {
    const it = items[p.dataIndex];
    const term = it && (it.row[cols.link] || it.row[cols.label]);
    const href = term && term.type === "uri" ? hrefFor(term.value) : null;
    if (href) location.href = href;
  });
  // Years apart and most items in one month (the article's March 2018): offer to zoom to that month.
  const busiest = busiestMonth(items);
  if (busiest && last - first > 366 * 86400000) {
    const button = el("button", { type: "button", class: "zoom-month" }, "Zoom to " + busiest.name);
    const all = el("button", { type: "button", class: "zoom-all" }, "Show all");
    button.addEventListener("click", () => chart.dispatchAction({ type: "dataZoom", startValue: busiest.start - 86400000,
      endValue: busiest.end + 86400000 }));
    all.addEventListener("click", () => chart.dispatchAction({ type: "dataZoom", start: 0, end: 100 }));
    container.prepend(el("p", { class: "view-tools" }, button, " ", all));
  }
  resizeWith(container, chart);
  label(box, `Timeline of ?${cols.label} by ?${cols.date}: ${items.length} dated` +
    (undated.length ? `; ${undated.length} undated, listed beside it` : ""));
  container.dataset.items = String(items.length);
  container.dataset.undated = String(undated.length);
  return chart;
}

function busiestMonth(items) {
  const months = new Map();
  for (const it of items) {
    const d = new Date(it.start);
    if (it.end - it.start > 86400000) continue; // only items dated to the day
    const key = d.getUTCFullYear() * 12 + d.getUTCMonth();
    months.set(key, (months.get(key) || 0) + 1);
  }
  const [key, count] = [...months].sort((a, b) => b[1] - a[1])[0] || [];
  if (!count || count * 2 < items.length) return null;
  const year = Math.floor(key / 12);
  const month = key % 12;
  const name = new Date(Date.UTC(year, month, 1)).toLocaleString("en", { month: "long", year: "numeric", timeZone: "UTC" });
  return { name, start: Date.UTC(year, month, 1), end: Date.UTC(year, month + 1, 1) };
}

function escapeText(s) {
  const d = document.createElement("div");
  d.textContent = s;
  return d.innerHTML;
}

// --- network: nodes labelled by rdfs:label, coloured by class; edges labelled by property ---
export async function drawGraph(container, results) {
  const cols = graphColumns(results);
  const nodes = new Map();
  const edges = new Map();
  const extraLabels = new Map();
  const extraTypes = new Map();
  for (const r of rows(results)) {
    const s = r[cols.source];
    const o = r[cols.target];
    const p = cols.property ? r[cols.property] : null;
    if (cols.triples && isIri(s) && p && p.value === RDFS_LABEL && o && o.type === "literal") {
      extraLabels.set(s.value, o.value);
      continue;
    }
    if (cols.triples && isIri(s) && p && p.value === RDF_TYPE && isIri(o)) {
      extraTypes.set(s.value, o.value);
      continue;
    }
    if (!isIri(s) || !isIri(o)) continue;
    nodes.set(s.value, true);
    nodes.set(o.value, true);
    const edgeLabel = p ? textOf(p) : "";
    edges.set(s.value + "\n" + (p ? p.value : "") + "\n" + o.value, { source: s.value, target: o.value, label: edgeLabel });
  }
  const classColours = new Map();
  const colourOf = (cls) => {
    if (!classColours.has(cls)) classColours.set(cls, PALETTE[classColours.size % PALETTE.length]);
    return classColours.get(cls);
  };
  const elements = [];
  const ids = new Map([...nodes.keys()].map((iri, i) => [iri, "n" + i]));
  for (const iri of nodes.keys()) {
    const cls = classOf(iri) || (extraTypes.has(iri) ? labelOf(extraTypes.get(iri)) : "other");
    elements.push({ data: { id: ids.get(iri), iri, label: data.labels[iri] || extraLabels.get(iri) || labelOf(iri),
      cls, colour: colourOf(cls) } });
  }
  let n = 0;
  for (const e of edges.values()) {
    elements.push({ data: { id: "e" + n++, source: ids.get(e.source), target: ids.get(e.target), label: e.label } });
  }
  container.replaceChildren();
  container.classList.add("view", "view-graph");
  const box = el("div", { class: "network" });
  container.append(box);
  container.append(el("p", { class: "legend" }, ...[...classColours].flatMap(([cls, colour]) => {
    const swatch = el("span", { class: "swatch" });
    swatch.style.background = colour;
    return [el("span", { class: "legend-item" }, swatch, cls), " "];
  })));
  const { default: cytoscape } = await import("cytoscape");
  // Cytoscape adds a <style> (position: relative for its container) unless an element with this id exists:
  // the page's Content-Security-Policy refuses inline styles, and views.css has the rule already.
  if (!document.getElementById(CYTOSCAPE_STYLESHEET_ID)) {
    document.body.append(el("span", { id: CYTOSCAPE_STYLESHEET_ID, hidden: "" }));
  }
  const cy = cytoscape({
    container: box,
    elements,
    styleEnabled: true,
    style: [
      { selector: "node", style: { "background-color": "data(colour)", label: "data(label)", "font-size": 9,
        "text-wrap": "wrap", "text-max-width": 120, "text-valign": "bottom", "text-margin-y": 3, width: 16, height: 16 } },
      { selector: "edge", style: { label: "data(label)", "font-size": 8, color: "#555", width: 1.2,
        "line-color": "#9aa5b1", "target-arrow-color": "#9aa5b1", "target-arrow-shape": "triangle",
        "curve-style": "bezier", "text-rotation": "autorotate", "min-zoomed-font-size": 9, "text-background-color": "#fff",
        "text-background-opacity": 0.8 } },
    ],
    // Edge labels appear when zoomed in enough to read them; the layout leaves room for node labels.
    layout: { name: "cose", animate: false, randomize: false, fit: true, padding: 24, nodeDimensionsIncludeLabels: true,
      nodeRepulsion: () => 400000, idealEdgeLength: () => 70, gravity: 40, numIter: 400 },
  });
  cy.on("tap", "node", (event) => {
    const href = hrefFor(event.target.data("iri"));
    if (href) location.href = href;
  });
  label(box, `Network: ${cy.nodes().length} nodes, ${cy.edges().length} links; click a node to open its page`);
  container.dataset.nodes = String(cy.nodes().length);
  container.dataset.edges = String(cy.edges().length);
  return cy;
}

// A picture's text for screen readers (the table view has every value).
function label(box, text) {
  box.setAttribute("role", "img");
  box.setAttribute("aria-label", text);
}

function resizeWith(container, chart) {
  if (typeof ResizeObserver === "undefined") return;
  new ResizeObserver(() => chart.resize()).observe(container);
}

export function draw(view, container, results) {
  container.classList.remove("view-bar", "view-timeline", "view-graph");
  for (const k of ["bars", "unnumbered", "items", "undated", "nodes", "edges"]) delete container.dataset[k];
  if (view === "bar") return drawBar(container, results);
  if (view === "timeline") return drawTimeline(container, results);
  if (view === "graph") return drawGraph(container, results);
  return null;
}
