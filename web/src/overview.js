// The overview page: each figure runs its stored query against the endpoint and draws it in its view.
import "./views.css";
import { data, el } from "./terms.js";
import { fetchResults, mountViews } from "./panel.js";

for (const figure of document.querySelectorAll("[data-figure]")) {
  const name = figure.dataset.figure;
  const host = figure.querySelector(".figure-body");
  const query = data.figures[name];
  fetchResults(query)
    .then((results) => mountViews(host, results, query, data.figureViews[name]))
    .catch((error) => host.replaceChildren(el("p", { class: "error", role: "alert" }, String(error.message || error))));
}
