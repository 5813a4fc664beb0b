/**
 * The Chromium the browser tests drive (through playwright-core, which downloads no browser):
 * CHROMIUM_PATH, else `chromium` (or `chromium-browser`, `google-chrome`) on PATH, else, when
 * running as root on Debian, Debian's `chromium` installed with apt-get; else a message saying
 * how to get one.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const names = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/** Flags that work headless in containers and CI, with nothing fetched from outside. */
export const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

function onPath(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const name of names) {
      const file = path.join(dir, name);
      try {
        fs.accessSync(file, fs.constants.X_OK);
        return file;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

const isDebianRoot = (): boolean =>
  process.getuid?.() === 0 && fs.existsSync('/etc/debian_version') && !!onPathNamed('apt-get');

function onPathNamed(name: string): string | undefined {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .map((dir) => path.join(dir, name))
    .find((file) => fs.existsSync(file));
}

export class ChromiumMissing extends Error {
  constructor() {
    super(
      'The browser tests need Chromium: set CHROMIUM_PATH to a Chromium or Chrome binary, or ' +
        'install one (Debian/Ubuntu: `sudo apt-get install chromium`; macOS: ' +
        '`brew install --cask chromium`).',
    );
    this.name = 'ChromiumMissing';
  }
}

/** The path of a Chromium to launch, installing Debian's when allowed; throws `ChromiumMissing`. */
export function findChromium(log: (message: string) => void = () => {}): string {
  const given = process.env.CHROMIUM_PATH;
  if (given) {
    if (!fs.existsSync(given)) throw new Error(`CHROMIUM_PATH is ${given}, which does not exist.`);
    return given;
  }
  const found = onPath();
  if (found) return found;
  if (isDebianRoot()) {
    log('installing Chromium for the browser tests (apt-get install chromium)...');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    const result = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
      stdio: 'inherit',
      env,
    });
    const installed = result.status === 0 ? onPath() : undefined;
    if (installed) return installed;
  }
  throw new ChromiumMissing();
}
