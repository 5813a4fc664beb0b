#!/usr/bin/env node
/**
 * `npm start` and `npm test` begin here. Plain Node, no dependencies: check the Node version,
 * install (or refresh) node_modules when package-lock.json changed, then hand over to the
 * TypeScript stack runner (stack/main.ts) through tsx.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 10)) {
  console.error(`loyalty-ops needs Node.js 20.10 or newer; this is ${process.version}.`);
  process.exit(1);
}

function installStamp() {
  const hash = createHash('sha256');
  for (const file of ['package.json', 'package-lock.json']) {
    hash.update(fs.readFileSync(path.join(root, file)));
  }
  return hash.digest('hex');
}

function ensureDependencies() {
  const stampFile = path.join(root, 'node_modules', '.loyalty-ops-install');
  const wanted = installStamp();
  const have = fs.existsSync(stampFile) ? fs.readFileSync(stampFile, 'utf8') : '';
  if (have === wanted) return;
  console.log('[bootstrap] installing dependencies (npm ci)...');
  // Under `npm start`, npm_execpath is the npm that runs us; else the npm on PATH.
  const npmCli = process.env.npm_execpath;
  const [command, args] =
    npmCli && npmCli.endsWith('.js')
      ? [process.execPath, [npmCli, 'ci', '--no-audit', '--no-fund']]
      : ['npm', ['ci', '--no-audit', '--no-fund']];
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('[bootstrap] npm ci failed; see the output above.');
    process.exit(result.status || 1);
  }
  fs.writeFileSync(stampFile, wanted);
}

ensureDependencies();
require(path.join(root, 'node_modules', 'tsx', 'dist', 'cjs', 'api', 'index.cjs')).register();
require('./main.ts')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err) => {
    console.error(`[stack] ${err && err.message ? err.message : err}`);
    process.exit(1);
  });
