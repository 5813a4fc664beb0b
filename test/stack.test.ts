/**
 * `npm start` end to end, as a user runs it: everything comes up on real services (the partner
 * simulators too, sharing a callback secret with the API), an enrolled member is visible to the
 * Temporal CLI, a worker killed with SIGKILL is started again, Ctrl-C stops every process, and a second start finds the member again, with a
 * real partner in place of a simulator. Runs on its own ports and data folder, beside the suite's
 * own stack.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { after, describe, it } from 'node:test';
import { startGiftCards } from '../partners/giftcards';
import { freePort, isPortFree, waitFor } from '../stack/ports';

const root = path.resolve(__dirname, '..');

interface Started {
  child: ChildProcess;
  output: string[];
  adminKey: string;
  exited: Promise<number | null>;
}

async function startStack(env: NodeJS.ProcessEnv): Promise<Started> {
  const child = spawn(process.execPath, [path.join(root, 'stack', 'bootstrap.js'), 'start'], {
    cwd: root,
    env,
    detached: true, // its own process group, like a terminal's foreground job
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const running = new Promise<string>((resolve, reject) => {
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        const key = /^\s+Admin key\s+(\S+)/.exec(line)?.[1];
        if (key) resolve(key);
      });
    }
    void exited.then((code) =>
      reject(new Error(`npm start exited ${code}:\n${output.join('\n')}`)),
    );
    setTimeout(() => reject(new Error(`npm start not up:\n${output.join('\n')}`)), 240_000).unref();
  });
  return { child, output, adminKey: await running, exited };
}

/** What a terminal does on Ctrl-C: SIGINT to the whole foreground process group. */
async function interrupt(
  started: Started,
  signal: NodeJS.Signals = 'SIGINT',
): Promise<number | null> {
  process.kill(-started.child.pid!, signal);
  const timeout = new Promise<'timeout'>((resolve) =>
    setTimeout(() => resolve('timeout'), 60_000).unref(),
  );
  const code = await Promise.race([started.exited, timeout]);
  assert.notEqual(code, 'timeout', `npm start did not stop:\n${started.output.join('\n')}`);
  return code as number | null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loyalty-ops-start-'));
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('runs the whole stack, stops cleanly on Ctrl-C and keeps its data for the next start', async () => {
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
    for (const key of [
      'DATABASE_URL',
      'TEMPORAL_ADDRESS',
      'TEMPORAL_UI_URL',
      'TEMPORAL_TASK_QUEUE',
      'WAREHOUSE_URL',
      'GIFTCARD_URL',
      'CALLBACK_BASE_URL',
      'WAREHOUSE_WEBHOOK_SECRET',
      'GIFTCARD_WEBHOOK_SECRET',
      'PARTNERS_HOST',
    ]) {
      delete env[key];
    }
    const api = `http://127.0.0.1:${ports.PORT}`;
    const warehouse = `http://127.0.0.1:${ports.WAREHOUSE_PORT}`;
    const giftCards = `http://127.0.0.1:${ports.GIFTCARD_PORT}`;
    const secretFile = path.join(dataDir, 'warehouse-webhook-secret');

    const first = await startStack(env);
    const auth = { authorization: `Bearer ${first.adminKey}`, 'content-type': 'application/json' };
    const health = await fetch(`${api}/health`);
    assert.equal(health.status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${ports.TEMPORAL_UI_PORT}/`)).status, 200);
    assert.match(await (await fetch(`${api}/metrics`)).text(), /process_cpu_user_seconds_total/);

    assert.equal((await fetch(`${warehouse}/shipments`)).status, 200);
    assert.equal((await fetch(`${giftCards}/float`)).status, 200);
    assert.ok(first.output.includes(`  Warehouse    ${warehouse}   (local simulator)`));
    assert.ok(first.output.includes(`  Gift cards   ${giftCards}   (local simulator)`));
    const secret = fs.readFileSync(secretFile, 'utf8').trim();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]+={0,2}$/);
    assert.equal(fs.statSync(secretFile).mode & 0o777, 0o600);
    // The simulator's signed callback reaches the API, which checks it with the same secret: an
    // unknown shipment is a 404, where a wrong secret would be 401 and none 503.
    const shipment = await fetch(`${warehouse}/shipments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        shipmentId: 'stack-test-unknown',
        sku: 'MUG-1',
        quantity: 1,
        priority: 1,
        callbackUrl: `${api}/callbacks/warehouse`,
      }),
    });
    assert.equal(shipment.status, 201);
    let lastError: string | undefined;
    await waitFor('the callback to be answered', async () => {
      const { callbacks } = (await (await fetch(`${warehouse}/_control/callbacks`)).json()) as {
        callbacks: { lastError?: string }[];
      };
      lastError = callbacks[0]?.lastError;
      return lastError !== undefined;
    }).catch(() => undefined);
    assert.equal(lastError, 'answered 404');
    // Likewise the gift-card simulator's status callback (the card activates at once).
    const card = await fetch(`${giftCards}/cards`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'stack-test-card' },
      body: JSON.stringify({
        denomination: 10,
        currency: 'EUR',
        callbackUrl: `${api}/callbacks/giftcards`,
      }),
    });
    assert.equal(card.status, 201);
    let cardError: string | undefined;
    await waitFor('the card callback to be answered', async () => {
      const { callbacks } = (await (await fetch(`${giftCards}/_control/callbacks`)).json()) as {
        callbacks: { lastError?: string }[];
      };
      cardError = callbacks[0]?.lastError;
      return cardError !== undefined;
    }).catch(() => undefined);
    assert.equal(cardError, 'answered 404');
    assert.match(fs.readFileSync(path.join(dataDir, 'giftcard-webhook-secret'), 'utf8'), /^whsec_/);

    const enrolled = await fetch(`${api}/members`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ externalId: 'stack-test-1', name: 'Grace' }),
    });
    assert.equal(enrolled.status, 201);
    const { id } = (await enrolled.json()) as { id: string };

    const listed = await listWorkflows(ports.TEMPORAL_PORT, `MemberId = '${id}'`);
    assert.deepEqual(listed, [{ id: `member:${id}`, status: 'Running' }]);

    // A child that dies is started again, and the stack says so.
    const pidFile = path.join(dataDir, 'stack.pids.json');
    const readPids = () =>
      JSON.parse(fs.readFileSync(pidFile, 'utf8')) as { pid: number; cmd: string }[];
    const workerPid = () => readPids().find((p) => p.cmd.includes('workers/main.ts'))?.pid;
    const killed = workerPid()!;
    process.kill(killed, 'SIGKILL');
    await waitFor('the worker to be restarted', () => {
      const pid = workerPid();
      return Promise.resolve(pid !== undefined && pid !== killed && alive(pid));
    });
    assert.ok(
      first.output.includes('[stack] worker exited (signal SIGKILL); restarting in 1s'),
      first.output.join('\n'),
    );
    assert.equal((await fetch(`${api}/health`)).status, 200, 'the rest of the stack stayed up');

    const pids = readPids().map((p) => p.pid);
    assert.equal(pids.length, 5, 'temporal, postgres, partners, worker and api');

    assert.equal(await interrupt(first), 0);
    assert.deepEqual(pids.filter(alive), [], 'no process left behind');
    for (const [key, port] of Object.entries(ports)) {
      assert.ok(await isPortFree(port), `${key} ${port} released`);
    }

    // A real gift-card provider replaces the simulator by configuration alone.
    const provider = await startGiftCards();
    after(() => provider.close());
    const second = await startStack({ ...env, GIFTCARD_URL: provider.url });
    assert.equal(second.adminKey, first.adminKey, 'the local admin key is kept');
    assert.equal(fs.readFileSync(secretFile, 'utf8').trim(), secret, 'the secret is kept');
    assert.ok(second.output.includes(`  Gift cards   ${provider.url}   (GIFTCARD_URL)`));
    assert.ok(await isPortFree(ports.GIFTCARD_PORT), 'no gift-card simulator on GIFTCARD_PORT');
    assert.equal((await fetch(`${warehouse}/shipments`)).status, 200);
    const member = await fetch(`${api}/members/${id}`, { headers: auth });
    assert.equal(member.status, 200);
    const body = (await member.json()) as { externalId: string; workflow: { status: string } };
    assert.equal(body.externalId, 'stack-test-1');
    assert.equal(body.workflow.status, 'RUNNING');
    assert.equal(await interrupt(second, 'SIGTERM'), 0);
  });
});

async function listWorkflows(
  port: number,
  query: string,
): Promise<{ id: string; status: string }[]> {
  const cli = process.env.TEMPORAL_CLI_PATH ?? 'temporal';
  const deadline = Date.now() + 20_000;
  for (;;) {
    const out = execFileSync(cli, [
      'workflow',
      'list',
      '--address',
      `127.0.0.1:${port}`,
      '--query',
      query,
      '--output',
      'json',
    ]).toString();
    const rows = (
      JSON.parse(out || '[]') as { execution: { workflowId: string }; status: string }[]
    )
      .map((r) => ({
        id: r.execution.workflowId,
        status: r.status.replace('WORKFLOW_EXECUTION_STATUS_', ''),
      }))
      .map((r) => ({ ...r, status: r.status[0] + r.status.slice(1).toLowerCase() }));
    if (rows.length || Date.now() > deadline) return rows;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}
