// A stored query's page: the server has run it and rendered the table; this draws it in the view its
// header asks for (#defaultView:), with a switcher among the views that fit.
import "./views.css";
import { data, el } from "./terms.js";
import { fetchResults, mountViews } from "./panel.js";

const host = document.getElementById("views");
if (host && data.query) {
  fetchResults(data.query)
    .then((results) => mountViews(host, results, data.query))
    .catch((error) => host.replaceChildren(el("p", { class: "error", role: "alert" }, String(error.message || error))));
}
