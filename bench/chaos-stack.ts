/**
 * The chaos run's own `npm start` (stack/bootstrap.js start, with its supervisor) on free ports and
 * a temporary data folder, and the faults it suffers: a child killed with SIGKILL (with its process
 * group), found by its command line in the stack's PID file.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { freePort } from '../stack/ports';

const root = path.resolve(__dirname, '..');

export type Victim = 'worker' | 'api' | 'temporal' | 'postgres';
const commandOf: Record<Victim, string> = {
  worker: 'workers/main.ts',
  api: 'api/server.ts',
  temporal: 'server start-dev',
  postgres: 'postgres-server.mjs',
};

export interface ChaosStack {
  api: string;
  warehouse: string;
  databaseUrl: string;
  adminKey: string;
  dataDir: string;
  /** Lines the stack printed (its restarts among them). */
  output: string[];
  kill(victim: Victim): number | undefined;
  stop(): Promise<number | null>;
}

export async function startChaosStack(log: (m: string) => void): Promise<ChaosStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loyalty-ops-chaos-'));
  const ports = {
    PORT: await freePort(),
    TEMPORAL_PORT: await freePort(),
    TEMPORAL_UI_PORT: await freePort(),
    EMBEDDED_POSTGRES_PORT: await freePort(),
    WAREHOUSE_PORT: await freePort(),
    GIFTCARD_PORT: await freePort(),
  };
  const env: NodeJS.ProcessEnv = { ...process.env, LOYALTY_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  for (const [key, port] of Object.entries(ports)) env[key] = String(port);
  for (const key of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'WAREHOUSE_URL', 'GIFTCARD_URL']) {
    delete env[key];
  }
  env.CALLBACK_BASE_URL = '';
  env.IDEMPOTENCY_HEARTBEAT_MS = '1000';
  const child = spawn(process.execPath, [path.join(root, 'stack', 'bootstrap.js'), 'start'], {
    cwd: root,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const adminKey = await new Promise<string>((resolve, reject) => {
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        if (line.startsWith('[stack]')) log(line);
        const key = /^\s+Admin key\s+(\S+)/.exec(line)?.[1];
        if (key) resolve(key);
      });
    }
    void exited.then((code) =>
      reject(new Error(`npm start exited ${code}:\n${output.join('\n')}`)),
    );
  });
  const pidFile = path.join(dataDir, 'stack.pids.json');
  return {
    api: `http://127.0.0.1:${ports.PORT}`,
    warehouse: `http://127.0.0.1:${ports.WAREHOUSE_PORT}`,
    databaseUrl: `postgres://postgres:loyalty@127.0.0.1:${ports.EMBEDDED_POSTGRES_PORT}/loyalty`,
    adminKey,
    dataDir,
    output,
    kill(victim) {
      const entries = JSON.parse(fs.readFileSync(pidFile, 'utf8')) as {
        pid: number;
        cmd: string;
      }[];
      const pid = entries.find((e) => e.cmd.includes(commandOf[victim]))?.pid;
      if (pid === undefined) return undefined;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        return undefined; // between a death and its restart
      }
      return pid;
    },
    async stop() {
      try {
        process.kill(-child.pid!, 'SIGINT');
      } catch {
        /* gone */
      }
      const code = await exited;
      fs.rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}
