// Bundles MiniKit (pinned in package-lock.json) into one ESM file the customer's page
// loads from the RPC server, so `make run` needs no Node: `make miniapp-bundle`.
// Writes rpc/static/miniapp/assets/vendor/minikit.js (a banner names the MiniKit version and the
// lockfile's sha256, which tests/unit/test_miniapp_bundle.py compares with the pins) and
// vendor/LICENSES.txt: the licence of every package whose code is in the bundle.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

// The MIT licence, for packages that declare it without shipping a file.
const MIT = `Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT
OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.`;

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(here, "../../rpc/static/miniapp/assets/vendor");
const lock = readFileSync(join(here, "package-lock.json"));
const pinned = JSON.parse(lock).packages["node_modules/@worldcoin/minikit-js"].version;
const lockHash = createHash("sha256").update(lock).digest("hex");

const result = await esbuild.build({
  absWorkingDir: here, // the metafile's paths below are relative to it
  entryPoints: [join(here, "entry.js")],
  bundle: true,
  format: "esm",
  minify: true,
  platform: "browser",
  target: "es2020",
  legalComments: "none", // collected whole into LICENSES.txt instead
  metafile: true,
  write: false,
  banner: {
    js:
      `/*! @worldcoin/minikit-js ${pinned}, bundled by web/miniapp/build.mjs (esbuild ${esbuild.version}) ` +
      `from package-lock.json sha256:${lockHash}. Licences: LICENSES.txt */`,
  },
});

// The package folder each bundled file comes from (nested copies count on their own).
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const at = input.lastIndexOf("node_modules/");
  if (at < 0) continue;
  const rest = input.slice(at + "node_modules/".length).split("/");
  const dir = join(here, input.slice(0, at), "node_modules", ...rest.slice(0, rest[0].startsWith("@") ? 2 : 1));
  packages.set(dir, true);
}

const sections = [...packages.keys()]
  .map((dir) => {
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
    const text = file
      ? readFileSync(join(dir, file), "utf8").trim()
      : `${pkg.license}, as its package.json declares; the package ships no licence file ` +
        `(source: ${pkg.repository?.url ?? pkg.homepage ?? "npm"}).\n\n${MIT}`;
    return { name: `${pkg.name} ${pkg.version}`, where: relative(here, dir), text };
  })
  .sort((a, b) => a.name.localeCompare(b.name));

writeFileSync(join(out, "minikit.js"), result.outputFiles[0].contents);
writeFileSync(
  join(out, "LICENSES.txt"),
  "Third-party code in minikit.js (bundled from web/miniapp/package-lock.json)\n\n" +
    sections.map((s) => `=== ${s.name} (${s.where}) ===\n\n${s.text}\n`).join("\n"),
);
console.log(`minikit.js: @worldcoin/minikit-js ${pinned}, ${sections.length} packages, ` +
  `${result.outputFiles[0].contents.length} bytes`);
