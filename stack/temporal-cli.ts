/**
 * Finds the Temporal CLI (which holds the dev server and the Web UI): TEMPORAL_CLI_PATH, then
 * `temporal` on PATH, then our cached build; failing those, builds it with Go into the cache,
 * outside the repository, so fresh clones (and CI) reuse it.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const temporalCliVersion = 'v1.5.1';
const modulePath = 'github.com/temporalio/cli/cmd/temporal';

function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'loyalty-ops', `temporal-${temporalCliVersion}`);
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

export async function findTemporalCli(
  configured: string | undefined,
  log: (message: string) => void,
): Promise<string> {
  if (configured) {
    if (!isExecutable(configured)) {
      throw new Error(`TEMPORAL_CLI_PATH: '${configured}' is not an executable file.`);
    }
    return configured;
  }
  const fromPath = onPath('temporal');
  if (fromPath) return fromPath;
  const cached = path.join(cacheDir(), 'temporal');
  if (isExecutable(cached)) return cached;
  await build(cached, log);
  return cached;
}

async function build(target: string, log: (message: string) => void): Promise<void> {
  const go = onPath('go');
  if (!go || spawnSync(go, ['version']).status !== 0) {
    throw new Error(
      [
        'The Temporal CLI was not found and Go is not installed to build it. Either:',
        '  - install the Temporal CLI (https://docs.temporal.io/cli) and put `temporal` on PATH,',
        '    or point TEMPORAL_CLI_PATH at it;',
        `  - install Go 1.25+ and run again: it will build ${modulePath}@${temporalCliVersion};`,
        '  - or run everything with Docker Compose: `docker compose up` (see README).',
      ].join('\n'),
    );
  }
  // Build into a private folder, then rename: a concurrent or interrupted build never leaves a
  // half-written binary at the cached path.
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const gobin = fs.mkdtempSync(path.join(path.dirname(target), 'build-'));
  log(
    `building the Temporal CLI ${temporalCliVersion} with Go (first run only; several minutes) into ${path.dirname(target)}`,
  );
  const started = Date.now();
  const ticker = setInterval(
    () => log(`  still building the Temporal CLI (${Math.round((Date.now() - started) / 1000)}s)`),
    30_000,
  );
  try {
    const output: string[] = [];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(go, ['install', `${modulePath}@${temporalCliVersion}`], {
        env: { ...process.env, CGO_ENABLED: '0', GOBIN: gobin, GOFLAGS: '-mod=mod' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      child.on('error', reject);
      child.on('exit', resolve);
    });
    if (code !== 0) {
      throw new Error(
        `building the Temporal CLI failed (go install exited ${code}):\n${output.join('').slice(-4000)}`,
      );
    }
    fs.renameSync(path.join(gobin, 'temporal'), target);
    log(`built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)}s: ${target}`);
  } finally {
    clearInterval(ticker);
    fs.rmSync(gobin, { recursive: true, force: true });
  }
}
