/**
 * Finds Prometheus's `promtool` for the tests that check the shipped rules and config: on PATH
 * (Debian's `prometheus` package ships /usr/bin/promtool); when running as root on Debian, it
 * installs that package with apt-get; otherwise it says how to get one.
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

const howToGet =
  'promtool is needed to check deploy/prometheus: install Prometheus (Debian/Ubuntu: ' +
  '`apt-get install prometheus`; or the release tarball from https://prometheus.io/download/) ' +
  'and put promtool on PATH.';

export function findPromtool(log: (message: string) => void = () => {}): string {
  const found = onPath('promtool');
  if (found) return found;
  const debianRoot = process.getuid?.() === 0 && fs.existsSync('/etc/debian_version');
  if (!debianRoot) throw new Error(howToGet);
  log('promtool not found: apt-get install prometheus');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'prometheus']]) {
    const result = spawnSync('apt-get', args, { env, encoding: 'utf8', stdio: 'pipe' });
    if (result.status !== 0) {
      throw new Error(
        `apt-get ${args.join(' ')} failed: ${result.stderr.slice(-500)}\n${howToGet}`,
      );
    }
  }
  const installed = onPath('promtool');
  if (!installed)
    throw new Error(`apt-get installed prometheus, yet no promtool on PATH.\n${howToGet}`);
  return installed;
}
