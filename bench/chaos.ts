/**
 * `npm run chaos`: accruals and redemptions keep coming while the stack is hurt, then every figure
 * is checked. Against its own `npm start` (free ports, a temporary data folder: ./chaos-stack.ts):
 *
 *   1. set up: a physical reward with ample stock; members granted ample points;
 *   2. load, for --duration (default 600 s) or --seconds: --clients clients, each sending in turn
 *      an accrual (POST /events, eventId and Idempotency-Key fixed before the first try) and a
 *      redemption (POST /redemptions, Idempotency-Key fixed), retrying like real clients on 409,
 *      5xx and network errors (the same request, backoff 200 ms doubling to 5 s);
 *   3. faults meanwhile: the worker SIGKILLed every 30 s; the API killed once (at 25 % of the run);
 *      Temporal (45 %) and Postgres (65 %) killed once each; `npm start` restarts each;
 *   4. checks (exit 1 on any mismatch): every redemption ended (completed, failed or cancelled);
 *      each balance is what was granted, plus what the accrual answers said, less the completed
 *      redemptions, nothing held, its audit consistent; no source with two ledger effects; stock
 *      went down by the completed redemptions, nothing reserved; one delivered shipment per
 *      completed redemption; no answer was a 500.
 *
 * Not checked yet: webhook deliveries (one per event id) under the same faults.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client as PgClient } from 'pg';
import { startChaosStack, type ChaosStack, type Victim } from './chaos-stack';
import { JsonClient } from './http';
import { inParallel } from './load';
import { expectStatus, positive, sleep } from './options';
import { checkRun, type Check, type RedemptionRun } from './redemption-check';

const usage = `npm run chaos -- [--duration 600 | --seconds N] [--clients 4] [--members 20]`;
const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '600' },
    seconds: { type: 'string' },
    clients: { type: 'string', default: '4' },
    members: { type: 'string', default: '20' },
    help: { type: 'boolean', default: false },
  },
});
const log = (m: string): void => console.log(`[chaos] ${m}`);
const runId = `c${Date.now().toString(36)}`;
const pointsCost = 100;
const initialStock = 1_000_000;
const grant = 1_000_000;
const retried = new Set([409, 500, 502, 503, 504]);

interface Tally {
  sent: number;
  retries: number;
  answers: Map<number, number>;
  gaveUp: number;
}

/** One request, sent again as it was until it gets an answer that is not "try again". */
async function persist(
  api: string,
  key: string,
  tally: Tally,
  request: { method: string; path: string; body: unknown; idempotencyKey: string },
  deadline: number,
): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
  tally.sent++;
  for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
    try {
      const res = await fetch(`${api}${request.path}`, {
        method: request.method,
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'idempotency-key': request.idempotencyKey,
        },
        body: JSON.stringify(request.body),
        signal: AbortSignal.timeout(30_000),
      });
      tally.answers.set(res.status, (tally.answers.get(res.status) ?? 0) + 1);
      const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      if (!retried.has(res.status)) return { status: res.status, body };
    } catch {
      tally.answers.set(0, (tally.answers.get(0) ?? 0) + 1); // no answer
    }
    if (Date.now() > deadline) {
      tally.gaveUp++;
      return undefined;
    }
    tally.retries++;
    await sleep(delay * (0.5 + Math.random()));
  }
}

async function setUp(http: JsonClient, members: number): Promise<RedemptionRun> {
  const rewardId = `chaos-${runId}`;
  const reward = await http.request('POST', '/rewards', {
    id: rewardId,
    kind: 'physical',
    name: `Chaos reward ${runId}`,
    category: 'chaos',
    currency: 'EUR',
    pointsCost,
    cashValue: 5,
    inventory: { onHand: initialStock, threshold: 0 },
  });
  expectStatus(reward, 201);
  const ids = await inParallel(
    Array.from({ length: members }, (_, i) => `${runId}-${i}`),
    8,
    async (externalId) => {
      const member = await http.request('POST', '/members', { externalId });
      expectStatus(member, 201);
      const id = (member.body as { id: string }).id;
      const adjusted = await http.request('POST', `/members/${id}/adjustments`, {
        points: grant,
        reason: `chaos ${runId}`,
      });
      expectStatus(adjusted, 201);
      return id;
    },
  );
  return {
    rewardId,
    pointsCost,
    initialStock,
    granted: new Map(ids.map((id) => [id, grant])),
    started: new Map(),
    earned: new Map(),
    endedIsEnough: true,
  };
}

/** The faults, on their schedule, until `end`. */
async function hurt(stack: ChaosStack, durationMs: number, end: number): Promise<string[]> {
  const begun = Date.now();
  const once: [number, Victim][] = [
    [0.25, 'api'],
    [0.45, 'temporal'],
    [0.65, 'postgres'],
  ];
  const plan: [number, Victim][] = [...once.map(([f, v]): [number, Victim] => [f * durationMs, v])];
  for (let at = 30_000; at < durationMs; at += 30_000) plan.push([at, 'worker']);
  plan.sort((a, b) => a[0] - b[0]);
  const done: string[] = [];
  for (const [at, victim] of plan) {
    await sleep(Math.max(0, begun + at - Date.now()));
    if (Date.now() >= end) break;
    const pid = stack.kill(victim);
    const line = `${Math.round((Date.now() - begun) / 1000)}s: ${victim} ${pid ? `(pid ${pid}) killed` : 'not running, skipped'}`;
    log(line);
    done.push(line);
  }
  return done;
}

/** No ledger source (event, hold, redemption...) with two effects, straight from Postgres. */
async function noDoubleEffects(databaseUrl: string): Promise<Check> {
  const client = new PgClient({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ dedupe_key: string; n: string }>(
      `SELECT dedupe_key, count(*) AS n FROM ledger_entries WHERE dedupe_key IS NOT NULL
        GROUP BY dedupe_key HAVING count(*) > 1 LIMIT 5`,
    );
    return {
      name: 'no event with two effects',
      ok: rows.length === 0,
      detail: rows.length
        ? rows.map((r) => `${r.dedupe_key} x${r.n}`).join('; ')
        : 'every ledger source recorded once',
    };
  } finally {
    await client.end();
  }
}

async function main(): Promise<number> {
  if (args.help) {
    console.log(usage);
    return 0;
  }
  const durationMs =
    positive(args.seconds ? 'seconds' : 'duration', args.seconds ?? args.duration) * 1000;
  const clients = positive('clients', args.clients);
  const members = positive('members', args.members);
  log(`starting a stack of its own (npm start on free ports)`);
  const stack = await startChaosStack(log);
  try {
    const http = new JsonClient(stack.api, stack.adminKey, 16);
    const warehouse = new JsonClient(stack.warehouse, '', 2);
    const run = await setUp(http, members);
    const memberIds = [...run.granted.keys()];
    log(
      `${members} members, reward ${run.rewardId}; load for ${durationMs / 1000} s with ${clients} clients`,
    );
    const accruals: Tally = { sent: 0, retries: 0, answers: new Map(), gaveUp: 0 };
    const redemptions: Tally = { sent: 0, retries: 0, answers: new Map(), gaveUp: 0 };
    const unexpected: string[] = [];
    const end = Date.now() + durationMs;
    const patience = durationMs + 180_000;

    const client = async (n: number): Promise<void> => {
      for (let i = 0; Date.now() < end; i++) {
        const memberId = memberIds[(n + i * clients) % memberIds.length]!;
        const eventId = `${runId}-${n}-${i}`;
        const accrual = await persist(
          stack.api,
          stack.adminKey,
          accruals,
          {
            method: 'POST',
            path: '/events',
            body: { type: 'referral', eventId, memberId, reference: `friend-${eventId}` },
            idempotencyKey: `ev-${eventId}`,
          },
          Date.now() + patience,
        );
        if (accrual && (accrual.status === 200 || accrual.status === 201)) {
          const earned = (accrual.body.points as { earned: number }).earned;
          run.earned!.set(memberId, (run.earned!.get(memberId) ?? 0) + earned);
        } else if (accrual) unexpected.push(`event ${eventId}: ${accrual.status}`);
        const key = `rd-${runId}-${n}-${i}-${randomUUID().slice(0, 8)}`;
        const redeemed = await persist(
          stack.api,
          stack.adminKey,
          redemptions,
          {
            method: 'POST',
            path: '/redemptions',
            body: { memberId, rewardId: run.rewardId, quantity: 1 },
            idempotencyKey: key,
          },
          Date.now() + patience,
        );
        if (redeemed && (redeemed.status === 200 || redeemed.status === 201)) {
          run.started.set(redeemed.body.redemptionId as string, memberId);
        } else if (redeemed) unexpected.push(`redemption ${key}: ${redeemed.status}`);
      }
    };
    const [faults] = await Promise.all([
      hurt(stack, durationMs, end),
      Promise.all(Array.from({ length: clients }, (_, n) => client(n))),
    ]);

    log('load over; waiting for every redemption to end, then checking');
    const result = await checkRun(http, warehouse, run, 180_000);
    const checks: Check[] = [...result.checks, await noDoubleEffects(stack.databaseUrl)];
    const fiveHundreds = (accruals.answers.get(500) ?? 0) + (redemptions.answers.get(500) ?? 0);
    checks.push({
      name: 'clients got an answer, never a 500',
      ok:
        fiveHundreds === 0 && unexpected.length === 0 && accruals.gaveUp + redemptions.gaveUp === 0,
      detail: `500s: ${fiveHundreds}; gave up: ${accruals.gaveUp + redemptions.gaveUp}; unexpected: ${unexpected.slice(0, 3).join('; ') || 'none'}`,
    });
    const restarts = stack.output.filter((l) => /exited .*; restarting in/.test(l));
    const answers = (t: Tally) =>
      [...t.answers]
        .sort((a, b) => a[0] - b[0])
        .map(([s, n]) => `${s || 'no answer'}: ${n}`)
        .join(', ');
    console.log(
      [
        '',
        `chaos run ${runId}: ${durationMs / 1000} s, ${clients} clients, ${members} members`,
        `faults: ${faults.length} (${faults.join('; ')})`,
        `restarts by npm start: ${restarts.length}`,
        `accruals: ${accruals.sent} sent, ${accruals.retries} retries; answers ${answers(accruals)}`,
        `redemptions: ${redemptions.sent} sent, ${redemptions.retries} retries; answers ${answers(redemptions)}`,
        `redemptions by status: ${[...result.statuses].map(([s, n]) => `${s} ${n}`).join(', ')}` +
          (result.reasons.size
            ? ` (reasons: ${[...result.reasons].map(([r, n]) => `${r} ${n}`).join(', ')})`
            : ''),
        '',
        ...checks.map((c) => `${c.ok ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`),
        '',
        'not checked: webhook deliveries once per event id',
      ].join('\n'),
    );
    return checks.every((c) => c.ok) ? 0 : 1;
  } finally {
    log('stopping the stack');
    await stack.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[chaos] ${(err as Error).stack ?? String(err)}`);
    process.exit(2);
  },
);
