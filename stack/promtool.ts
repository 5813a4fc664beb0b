/**
 * Finds Prometheus's `promtool` (and the `prometheus` server) for the tests that check the
 * shipped rules, config and queries: on PATH (Debian's `prometheus` package ships both in
 * /usr/bin); when running as root on Debian, it installs that package with apt-get; otherwise it
 * says how to get them.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir, name);
    if (dir && fs.existsSync(file) && fs.statSync(file).isFile()) return file;
  }
  return undefined;
}

const howToGet = (name: string): string =>
  `${name} is needed to check deploy/prometheus: install Prometheus (Debian/Ubuntu: ` +
  '`apt-get install prometheus`; or the release tarball from https://prometheus.io/download/) ' +
  `and put ${name} on PATH.`;

function findOrInstall(name: 'promtool' | 'prometheus', log: (message: string) => void): string {
  const found = onPath(name);
  if (found) return found;
  const debianRoot = process.getuid?.() === 0 && fs.existsSync('/etc/debian_version');
  if (!debianRoot) throw new Error(howToGet(name));
  log(`${name} not found: apt-get install prometheus`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'prometheus']]) {
    const result = spawnSync('apt-get', args, { env, encoding: 'utf8', stdio: 'pipe' });
    if (result.status !== 0) {
      throw new Error(
        `apt-get ${args.join(' ')} failed: ${result.stderr.slice(-500)}\n${howToGet(name)}`,
      );
    }
  }
  const installed = onPath(name);
  if (!installed) {
    throw new Error(`apt-get installed prometheus, yet no ${name} on PATH.\n${howToGet(name)}`);
  }
  return installed;
}

export const findPromtool = (log: (message: string) => void = () => {}): string =>
  findOrInstall('promtool', log);

export const findPrometheus = (log: (message: string) => void = () => {}): string =>
  findOrInstall('prometheus', log);
