/**
 * Runs the local stack's processes and stops them in reverse order. Children get their own
 * process group, so a terminal's Ctrl-C reaches only us and we decide the order: API, worker,
 * then the services. Their PIDs are written to a file, so a run that was killed outright is
 * cleaned up by the next one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';

export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Show the child's output prefixed with its name (default), or only when it fails. */
  output?: 'show' | 'on-failure';
  /** Resolves the start once a line of output says the child is ready. */
  readyLine?: RegExp;
  stopSignal?: NodeJS.Signals;
  stopTimeoutMs?: number;
}

interface Running {
  spec: ChildSpec;
  process: ChildProcess;
  exited: Promise<number | null>;
  recent: string[];
}

export class Supervisor {
  private readonly running: Running[] = [];
  private stopping = false;
  onUnexpectedExit: (name: string, code: number | null, recent: string[]) => void = () => {};

  constructor(private readonly pidFile: string) {}

  /** Ends processes a previous, killed run left behind (matched by PID and command line). */
  static cleanLeftovers(pidFile: string, log: (message: string) => void): void {
    if (!fs.existsSync(pidFile)) return;
    const entries = JSON.parse(fs.readFileSync(pidFile, 'utf8')) as { pid: number; cmd: string }[];
    for (const { pid, cmd } of entries) {
      let current = '';
      try {
        current = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      } catch {
        continue; // gone
      }
      if (current !== cmd) continue;
      log(`stopping leftover process ${pid} from an earlier run (${cmd.slice(0, 80)})`);
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    fs.rmSync(pidFile, { force: true });
  }

  async start(spec: ChildSpec): Promise<void> {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const recent: string[] = [];
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const entry: Running = { spec, process: child, exited, recent };
    this.running.push(entry);
    this.writePids();

    let markReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        recent.push(line);
        if (recent.length > 40) recent.shift();
        if ((spec.output ?? 'show') === 'show') {
          process.stdout.write(`[${spec.name}] ${readableLogLine(line)}\n`);
        }
        if (spec.readyLine?.test(line)) markReady();
      });
    }
    void exited.then((code) => {
      if (!this.stopping) this.onUnexpectedExit(spec.name, code, recent);
    });
    if (!spec.readyLine) return;
    const early = exited.then((code) => {
      throw new Error(
        `${spec.name} exited (code ${code}) before it was ready:\n${recent.join('\n')}`,
      );
    });
    await Promise.race([ready, early]);
  }

  /** Stops everything, last started first; a process that does not stop in time is killed. */
  async stopAll(log: (message: string) => void): Promise<void> {
    this.stopping = true;
    for (const entry of [...this.running].reverse()) {
      const { spec, process: child } = entry;
      if (child.exitCode !== null || child.signalCode !== null) continue;
      log(`stopping ${spec.name}`);
      signalGroup(child, spec.stopSignal ?? 'SIGTERM');
      const timeout = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), spec.stopTimeoutMs ?? 15_000).unref(),
      );
      if ((await Promise.race([entry.exited, timeout])) === 'timeout') {
        log(`${spec.name} did not stop in time; killing it`);
        signalGroup(child, 'SIGKILL');
        await entry.exited;
      }
      // Anything it left in its process group goes with it.
      signalGroup(child, 'SIGKILL');
    }
    this.running.length = 0;
    fs.rmSync(this.pidFile, { force: true });
  }

  /** On a second Ctrl-C: no more waiting. */
  killAll(): void {
    for (const { process: child } of this.running) signalGroup(child, 'SIGKILL');
  }

  private writePids(): void {
    const entries = this.running
      .filter((r) => r.process.pid !== undefined)
      .map((r) => ({ pid: r.process.pid, cmd: [r.spec.command, ...r.spec.args].join(' ') }));
    fs.writeFileSync(this.pidFile, JSON.stringify(entries));
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* the group is gone */
  }
}

const pinoLevels: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** pino's JSON lines, shortened for a terminal: `INFO message key=value ...`. */
export function readableLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    const { level, msg, time: _t, service: _s, name: _n, pid: _p, hostname: _h, ...rest } = entry;
    if (typeof level !== 'number' || typeof msg !== 'string') return line;
    const fields = Object.entries(rest)
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ');
    return `${pinoLevels[level] ?? level} ${msg.split('\n')[0]}${fields ? ` ${fields}` : ''}`;
  } catch {
    return line;
  }
}
