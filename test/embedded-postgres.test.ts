/**
 * The embedded Postgres wrapper (stack/postgres-server.mjs) after a crash: a postmaster killed
 * outright leaves its `postmaster.pid`, and once that PID names another process Postgres refuses to
 * start; the wrapper removes the stale lock and starts. A start that fails says why (Postgres'
 * FATAL line), not "undefined".
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Client } from 'pg';
import { freePort } from '../stack/ports';
import { startEmbeddedPostgres } from '../stack/services';
import { Supervisor } from '../stack/supervisor';

describe('embedded Postgres wrapper', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loyalty-ops-pg-'));
  const root = path.join(dir, 'postgres');
  const lockFile = path.join(root, 'data', 'postmaster.pid');
  const supervisors: Supervisor[] = [];
  after(async () => {
    for (const s of supervisors) await s.stopAll(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const start = async (port: number) => {
    const supervisor = new Supervisor(path.join(dir, `pids-${supervisors.length}.json`));
    supervisors.push(supervisor);
    const url = await startEmbeddedPostgres(supervisor, {
      root,
      port,
      password: 'pw',
      database: 'crash',
      fast: true,
      output: 'on-failure',
    });
    return { supervisor, url };
  };

  it('starts again after its postmaster was killed and its PID reused', async () => {
    const port = await freePort();
    const first = await start(port);
    first.supervisor.killAll(); // SIGKILL to the wrapper and the postmaster: no clean shutdown
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.ok(fs.existsSync(lockFile), 'the killed postmaster left its lock file');
    // Its PID now belongs to another live process of Postgres' user (PIDs are reused, in a
    // container at once), which Postgres cannot tell from a live postmaster.
    const asPostgres =
      process.getuid?.() === 0
        ? {
            uid: Number(execFileSync('id', ['-u', 'postgres']).toString()),
            gid: Number(execFileSync('id', ['-g', 'postgres']).toString()),
          }
        : {};
    const other = spawn('sleep', ['120'], { ...asPostgres, stdio: 'ignore' });
    after(() => other.kill('SIGKILL'));
    const lines = fs.readFileSync(lockFile, 'utf8').split('\n');
    lines[0] = String(other.pid);
    fs.writeFileSync(lockFile, lines.join('\n'));

    const second = await start(port);
    const client = new Client({ connectionString: second.url });
    await client.connect();
    const { rows } = await client.query<{ one: number }>('SELECT 1 AS one');
    await client.end();
    assert.deepEqual(rows, [{ one: 1 }]);
    await second.supervisor.stopAll(() => {});
  });

  it('a start that fails reports the FATAL line of the Postgres log', async () => {
    const port = await freePort();
    const squatter = net.createServer().listen(port, '127.0.0.1');
    await once(squatter, 'listening');
    try {
      await assert.rejects(start(port), (err: Error) => {
        assert.match(
          err.message,
          /failed to start: .*FATAL: +could not create any TCP\/IP sockets/,
        );
        assert.doesNotMatch(err.message, /failed to start: undefined/);
        return true;
      });
    } finally {
      squatter.close();
    }
  });
});
