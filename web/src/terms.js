// Terms as people read them: our IRIs by their rdfs:label, linked to their pages; numbers as numbers; the
// datatype and language tag kept in a tooltip. The labels and classes of the graph's resources come with the
// page (page-data), so no cell waits for a second request.
export const data = JSON.parse(document.getElementById("page-data").textContent);

const XSD = "http://www.w3.org/2001/XMLSchema#";
const NUMERIC = new Set(["integer", "decimal", "double", "float", "int", "long", "short", "byte",
  "nonNegativeInteger", "positiveInteger", "negativeInteger", "nonPositiveInteger", "unsignedInt",
  "unsignedLong", "unsignedShort", "unsignedByte"].map((n) => XSD + n));
export const DATE_TYPES = new Set(["date", "dateTime", "gYear", "gYearMonth"].map((n) => XSD + n));
const LOCAL_NAME = /^(?:[A-Za-z0-9_](?:[\w.-]*[\w-])?)?$/;

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) node.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined) node.append(c); // strings become text nodes
  return node;
}

export function isNumber(term) {
  return Boolean(term && term.type !== "uri" && term.datatype && NUMERIC.has(term.datatype));
}

export function isDate(term) {
  return Boolean(term && term.type !== "uri" && term.datatype && DATE_TYPES.has(term.datatype));
}

export function shortName(iri, prefixes = data.prefixes) {
  let best = null;
  for (const [prefix, ns] of Object.entries(prefixes)) {
    if (ns && iri.startsWith(ns) && LOCAL_NAME.test(iri.slice(ns.length)) && (!best || ns.length >= best[0])) {
      best = [ns.length, prefix + ":" + iri.slice(ns.length)];
    }
  }
  return best ? best[1] : null;
}

export function hrefFor(iri) {
  if (iri.startsWith(data.baseIri)) return data.root + "/" + iri.slice(data.baseIri.length);
  if (/^https?:\/\//i.test(iri)) return iri;
  return null; // javascript:, data:, file: ... are shown, never linked
}

export function labelOf(iri) {
  return data.labels[iri] || shortName(iri) || iri;
}

export function classOf(iri) {
  return data.classes[iri] || null;
}

// The text a chart or a list shows for a term.
export function textOf(term) {
  if (!term) return "";
  if (term.type === "uri") return labelOf(term.value);
  return term.value;
}

// A cell's content as a DOM node.
export function termNode(term, prefixes = data.prefixes) {
  if (!term) return el("span", { class: "unbound", title: "unbound" }, "");
  if (term.type === "uri") {
    const iri = term.value;
    const label = data.labels[iri];
    const text = label || shortName(iri, prefixes) || iri;
    const href = hrefFor(iri);
    const cls = label ? "iri labelled" : "iri";
    const name = label ? shortName(iri, prefixes) : null;
    return href ? el("a", { class: cls, href, title: iri, "data-name": name }, text)
      : el("span", { class: cls, title: iri, "data-name": name }, text);
  }
  if (term.type === "bnode") return el("span", { class: "bnode" }, "_:" + term.value);
  if (term.type === "triple") {
    const t = term.value;
    return el("span", { class: "triple" }, "<< ", termNode(t.subject, prefixes), " ",
      termNode(t.predicate, prefixes), " ", termNode(t.object, prefixes), " >>");
  }
  const lang = term["xml:lang"];
  const datatype = term.datatype && term.datatype !== XSD + "string" ? term.datatype : null;
  const note = lang ? "language: " + lang : datatype ? "datatype: " + (shortName(datatype, prefixes) || datatype) : null;
  const cls = "literal" + (isNumber(term) ? " number" : "");
  return el("span", { class: cls, title: note, lang: lang || null, "data-datatype": datatype }, term.value);
}

// The same as HTML text, for YASR's table (which takes cell HTML): built with the DOM, so escaped.
export function termHtml(term, prefixes) {
  const wrap = document.createElement("div");
  wrap.append(termNode(term, prefixes));
  return wrap.innerHTML;
}
