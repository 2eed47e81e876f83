// Copies the pinned third-party files the console loads, with their licences, into the
// server's static folder (committed there: `make run` and the wheel need no Node).
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, '..', '..', 'rpc', 'static', 'console', 'vendor');
const files = {
  'uplot/dist/uPlot.esm.js': 'uplot/uPlot.esm.js',
  'uplot/dist/uPlot.min.css': 'uplot/uPlot.min.css',
  'uplot/LICENSE': 'uplot/LICENSE',
};
for (const [from, to] of Object.entries(files)) {
  mkdirSync(dirname(join(target, to)), { recursive: true });
  copyFileSync(join(here, 'node_modules', from), join(target, to));
  console.log(`vendored ${from} -> rpc/static/console/vendor/${to}`);
}
