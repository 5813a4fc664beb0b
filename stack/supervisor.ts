/**
 * Runs the local stack's processes and stops them in reverse order. Children get their own
 * process group, so a terminal's Ctrl-C reaches only us and we decide the order: API, worker,
 * then the services. Their PIDs are written to a file, so a run that was killed outright is
 * cleaned up by the next one. Once `keepAlive()` is called (the stack is up), a child that dies
 * is started again after a backoff (1 s, doubling to 30 s, back to 1 s once it stayed up a
 * minute), and that is logged.
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

/** How a dead child is started again once the supervisor keeps the stack alive. */
export interface RestartPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  /** A child that stayed up this long starts again from `initialDelayMs`. */
  resetAfterMs: number;
}

export const defaultRestartPolicy: RestartPolicy = {
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  resetAfterMs: 60_000,
};

interface Running {
  spec: ChildSpec;
  process: ChildProcess;
  exited: Promise<number | null>;
  recent: string[];
  startedAt: number;
  /** The wait before the next restart. */
  delayMs: number;
  restartTimer?: NodeJS.Timeout;
  /** Sees each line of output (the start's wait for `readyLine`). */
  onLine?: (line: string) => void;
}

export class Supervisor {
  private readonly running: Running[] = [];
  private stopping = false;
  private restarting = false;
  /** Called when a child dies while the supervisor does not keep the stack alive. */
  onUnexpectedExit: (name: string, code: number | null, recent: string[]) => void = () => {};

  constructor(
    private readonly pidFile: string,
    private readonly log: (message: string) => void = () => {},
    private readonly policy: RestartPolicy = defaultRestartPolicy,
  ) {}

  /** From now on a child that dies is restarted (with backoff) instead of reported. */
  keepAlive(): void {
    this.restarting = true;
  }

  /** The PID of the running child of that name (the latest, after restarts). */
  pidOf(name: string): number | undefined {
    return this.running.find((r) => r.spec.name === name)?.process.pid;
  }

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
    const entry = this.spawn(spec);
    this.running.push(entry);
    this.writePids();
    if (!spec.readyLine) return;
    let markReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    const readyLine = spec.readyLine;
    entry.onLine = (line) => {
      if (readyLine.test(line)) markReady();
    };
    const early = entry.exited.then((code) => {
      throw new Error(
        `${spec.name} exited (code ${code}) before it was ready:\n${entry.recent.join('\n')}`,
      );
    });
    await Promise.race([ready, early]);
  }

  private spawn(spec: ChildSpec, previous?: Running): Running {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const recent = previous?.recent ?? [];
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const entry: Running = {
      spec,
      process: child,
      exited,
      recent,
      startedAt: Date.now(),
      delayMs: previous?.delayMs ?? this.policy.initialDelayMs,
    };
    // A spawn failure (command missing) is reported as an exit.
    child.once('error', (err) => {
      recent.push(String(err));
      child.emit('exit', null, null);
    });
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        recent.push(line);
        if (recent.length > 40) recent.shift();
        if ((spec.output ?? 'show') === 'show') {
          process.stdout.write(`[${spec.name}] ${readableLogLine(line)}\n`);
        }
        entry.onLine?.(line);
      });
    }
    void exited.then((code) => {
      if (this.stopping) return;
      if (this.restarting) this.scheduleRestart(entry);
      else this.onUnexpectedExit(spec.name, code, recent);
    });
    return entry;
  }

  /** Starts a dead child again after its backoff; its process group goes first. */
  private scheduleRestart(entry: Running): void {
    const { spec, process: child } = entry;
    signalGroup(child, 'SIGKILL'); // whatever it left behind would hold its port
    if (Date.now() - entry.startedAt >= this.policy.resetAfterMs) {
      entry.delayMs = this.policy.initialDelayMs;
    }
    const delay = entry.delayMs;
    const how = child.signalCode ? `signal ${child.signalCode}` : `code ${child.exitCode}`;
    this.log(`${spec.name} exited (${how}); restarting in ${formatDelay(delay)}`);
    if (spec.output === 'on-failure')
      this.log(`${spec.name}'s last output:\n${entry.recent.join('\n')}`);
    entry.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      const index = this.running.indexOf(entry);
      if (index === -1) return;
      const next = this.spawn(spec, entry);
      next.delayMs = Math.min(delay * 2, this.policy.maxDelayMs);
      this.running[index] = next;
      this.writePids();
      this.log(`${spec.name} restarted (pid ${next.process.pid})`);
    }, delay);
  }

  /** Stops everything, last started first; a process that does not stop in time is killed. */
  async stopAll(log: (message: string) => void): Promise<void> {
    this.stopping = true;
    for (const entry of this.running) clearTimeout(entry.restartTimer);
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

function formatDelay(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
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
