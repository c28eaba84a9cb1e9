// Builds the /demo page into dist/: dist/index.html and dist/assets/ with
// content-hashed names. The SDK is bundled from its sources (sdk/web/src).
// Usage: node build.mjs
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"], { stdio: "inherit" });
rmSync("dist", { recursive: true, force: true });
mkdirSync("dist/assets", { recursive: true });
const out = await build({
  entryPoints: ["src/main.ts"],
  bundle: true,
  format: "esm",
  target: "es2022",
  platform: "browser",
  minify: true,
  legalComments: "none",
  entryNames: "[name]-[hash]",
  outdir: "dist/assets",
  metafile: true,
});
let js = "";
let css = "";
for (const f of Object.keys(out.metafile.outputs)) {
  if (f.endsWith(".js")) js = basename(f);
  if (f.endsWith(".css")) css = basename(f);
}
if (!js || !css) throw new Error("build: missing js or css output");
writeFileSync("dist/index.html", readFileSync("index.html", "utf8").replace("%JS%", js).replace("%CSS%", css));
console.log(`demo: dist/index.html, dist/assets/${js}, dist/assets/${css}`);
