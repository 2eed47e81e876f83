#!/bin/sh
# Refresh dist/ (committed, served by rpc/docs.py) from the swagger-ui-dist version pinned
# in package-lock.json. Run after changing the pin; the server itself never needs Node.
# --ignore-scripts: the package's install script only reports usage analytics.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --ignore-scripts
mkdir -p dist
for f in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE; do
  cp "node_modules/swagger-ui-dist/$f" "dist/$f"
done
grep '"version"' node_modules/swagger-ui-dist/package.json
