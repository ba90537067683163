// Bundles src/ into dist/ (git-ignored; rebuilt by `make`): ES modules with shared chunks, so the query page
// loads the editor and the table first and the chart and network libraries only when a view needs them.
// Every file also gets a .gz beside it, which the server sends to browsers that accept gzip.
import { build } from "esbuild";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

// YASR's column-resizer adds <style> elements, which a Content-Security-Policy without 'unsafe-inline'
// refuses (a console error on every table). Its rules are in src/views.css instead; here its injector is
// made to do nothing.
// (YASGUI's ES module bundles the column-resizer package: the patch applies to that file.)
const CREATE_STYLE = 'l(this, "createStyle", (function(e, n) {';
const styleFreeColumnResizer = {
  name: "style-free-column-resizer",
  setup(b) {
    b.onLoad({ filter: /yasgui[\\/]build[\\/]yasgui\.esm\.js$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      if (!source.includes(CREATE_STYLE)) throw new Error("column-resizer changed: check its createStyle");
      return { contents: source.replace(CREATE_STYLE, CREATE_STYLE + "return;"), loader: "js" };
    });
  },
};
const out = join(here, "dist");
rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: { editor: join(here, "src/editor.js"), overview: join(here, "src/overview.js"),
    "stored-query": join(here, "src/stored-query.js") },
  bundle: true,
  splitting: true,
  format: "esm",
  minify: true,
  target: "es2020",
  outdir: out,
  entryNames: "[name]",
  chunkNames: "chunk-[hash]",
  loader: { ".svg": "dataurl", ".woff": "file", ".woff2": "file", ".ttf": "file", ".png": "dataurl" },
  legalComments: "linked",
  logLevel: "warning",
  plugins: [styleFreeColumnResizer],
});
for (const name of readdirSync(out)) {
  if (/\.(js|css|txt)$/.test(name)) {
    writeFileSync(join(out, name + ".gz"), gzipSync(readFileSync(join(out, name)), { level: 9 }));
  }
}
