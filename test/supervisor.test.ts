/**
 * The stack's supervisor keeps it up: once it keeps the stack alive, a child that dies (SIGKILL,
 * or an exit of its own) is started again after a backoff that doubles and is said so; Ctrl-C
 * (stopAll) still stops everything, including a child waiting for its restart. Real child
 * processes; the backoff compressed to milliseconds.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Supervisor } from '../stack/supervisor';
import { waitFor } from '../stack/ports';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loyalty-ops-supervisor-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleeper = (name: string) => ({
  name,
  command: process.execPath,
  args: ['-e', 'console.log("up"); setInterval(() => {}, 1000)'],
  output: 'on-failure' as const,
  readyLine: /^up$/,
});

describe('supervisor', () => {
  it('restarts a child killed with SIGKILL, logs it, and stops it on stopAll', async () => {
    const logs: string[] = [];
    const pidFile = path.join(dir, 'kill.pids.json');
    const supervisor = new Supervisor(pidFile, (m) => logs.push(m), {
      initialDelayMs: 200,
      maxDelayMs: 800,
      resetAfterMs: 60_000,
    });
    await supervisor.start(sleeper('worker'));
    supervisor.keepAlive();
    const first = supervisor.pidOf('worker')!;
    process.kill(first, 'SIGKILL');
    await waitFor('a new worker', () => {
      const pid = supervisor.pidOf('worker');
      return Promise.resolve(pid !== undefined && pid !== first && alive(pid));
    });
    assert.ok(
      logs.includes('worker exited (signal SIGKILL); restarting in 200ms'),
      logs.join('\n'),
    );
    const second = supervisor.pidOf('worker')!;
    const pids = JSON.parse(fs.readFileSync(pidFile, 'utf8')) as { pid: number }[];
    assert.deepEqual(
      pids.map((p) => p.pid),
      [second],
      'the PID file names the new process',
    );

    await supervisor.stopAll(() => {});
    assert.equal(alive(second), false);
    assert.equal(fs.existsSync(pidFile), false);
  });

  it('doubles the wait while a child keeps dying, up to the maximum, and stopAll ends the loop', async () => {
    const logs: string[] = [];
    const supervisor = new Supervisor(path.join(dir, 'crash.pids.json'), (m) => logs.push(m), {
      initialDelayMs: 50,
      maxDelayMs: 200,
      resetAfterMs: 60_000,
    });
    const crashes = path.join(dir, 'crashes');
    fs.writeFileSync(crashes, '');
    await supervisor.start({
      name: 'api',
      command: process.execPath,
      // Up long enough for the start, then exits 3 (once started again, at once).
      args: [
        '-e',
        `require('fs').appendFileSync(${JSON.stringify(crashes)}, 'x'); console.log('up'); setTimeout(() => process.exit(3), 100)`,
      ],
      output: 'on-failure',
      readyLine: /^up$/,
    });
    supervisor.keepAlive();
    await waitFor('five restarts', () =>
      Promise.resolve(fs.readFileSync(crashes, 'utf8').length >= 5),
    );
    await supervisor.stopAll(() => {});
    const waits = logs
      .map((m) => /^api exited \(code 3\); restarting in (\d+)ms$/.exec(m)?.[1])
      .filter((w): w is string => w !== undefined)
      .map(Number);
    assert.deepEqual(waits.slice(0, 4), [50, 100, 200, 200], logs.join('\n'));
    const runs = fs.readFileSync(crashes, 'utf8').length;
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(fs.readFileSync(crashes, 'utf8').length, runs, 'no restart after stopAll');
  });

  it('before keepAlive, a death is reported instead of restarted', async () => {
    const supervisor = new Supervisor(path.join(dir, 'report.pids.json'));
    const reported = new Promise<string>((resolve) => {
      supervisor.onUnexpectedExit = (name, code) => resolve(`${name} ${code}`);
    });
    await supervisor.start(sleeper('partners'));
    process.kill(supervisor.pidOf('partners')!, 'SIGKILL');
    assert.equal(await reported, 'partners null');
    await supervisor.stopAll(() => {});
  });
});
