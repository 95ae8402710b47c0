// Builds the pages' assets into the Python package (src/bloodcert/web/static/dist): one stylesheet, one
// script for every page, and the verifier's script with its QR decoder. Run with `make assets`.
import { build } from "esbuild";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";

const outdir = "../src/bloodcert/web/static/dist";

const result = await build({
  entryPoints: [
    { in: "src/app.js", out: "app" },
    { in: "src/verify.js", out: "verify" },
    { in: "src/app.css", out: "app" },
    { in: "src/console.css", out: "console" },
  ],
  outdir,
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome94", "safari15.4", "firefox93"], // phones from 2021 on; the decoder needs ES2022
  legalComments: "eof",
  external: ["../fonts/*"], // the interface font (tools/build_ui_font.py), served from /static/fonts
  metafile: true,
  logLevel: "warning",
});

for (const file of Object.keys(result.metafile.outputs)) {
  const bytes = readFileSync(file);
  const kb = (n) => (n / 1024).toFixed(1).padStart(6);
  console.log(`${file.replace(`${outdir}/`, "dist/").padEnd(20)} ${kb(bytes.length)} KiB  ${kb(gzipSync(bytes).length)} KiB gzip`);
}
