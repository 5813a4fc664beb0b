/**
 * `npm run bench:accrual`: event accrual against a running stack (`npm start`).
 *
 *   1. app:      --clients concurrent clients post purchases over --members members;
 *   2. baseline: the same concurrency runs the bare insert-entry-plus-update-balance transaction
 *                straight over `pg` on the same database (see baseline.ts);
 *   3. floor:    the same clients post the same purchases to the API's HTTP stack doing no work
 *                (bench/http-floor.ts), in the same run;
 *   4. hot:      --hot-clients clients post to one member; then no update may be lost;
 *   5. batch:    --batch-clients clients post batches of --batch purchases (POST /events/batch).
 *
 * With --guardrails the same phases run under a programme version with the earning detectors,
 * points budgets and liability ceiling on, set so that nothing fires (bench/guardrail-rules.ts);
 * the version in force before is put back at the end. Compare with a run without it.
 *
 * Prints events/s, latency percentiles, the ratio to the baseline and the targets from the issue
 * (informational: the exit code is 0 whenever the bench could run).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadStackConfig } from '../config';
import { runBaseline, type BaselineResult } from './baseline';
import { JsonClient, type JsonResponse } from './http';
import { startHttpFloor } from './http-floor';
import { inParallel, runLoad, type LoadResult } from './load';
import { installGuardrails } from './guardrail-rules';
import { stackDatabaseUrl } from './options';
import { printReport, type Verification } from './report';
import { waitForLifecycles } from './settle';

const usage = `Usage: npm run bench:accrual -- [options]
  --url URL             API base URL (default http://127.0.0.1:3000)
  --key KEY             admin API key (default: $LOYALTY_API_KEY, else <LOYALTY_DATA_DIR>/local-admin-key)
  --duration S          seconds per measured phase (default 60)
  --warmup S            unmeasured seconds of app load first (default 5)
  --clients N           concurrent clients (default 64)
  --members N           members the load spreads over (default 1000)
  --hot-clients N       concurrent clients on the one hot member (default 32)
  --hot-duration S      seconds of hot-member load (default 20)
  --baseline-pool N     pg pool size of the baseline (default 16)
  --batch N             events per POST /events/batch request (default 100)
  --batch-clients N     concurrent clients of the batch phase (default 8)
  --phases LIST         any of app,baseline,floor,hot,batch (default all five)
  --guardrails          run with earning detectors, points budgets and the liability ceiling on
                        (limits too high to fire), to compare with a run without; the programme
                        version in force before is put back at the end;
                        BENCH_GUARDRAILS_ONLY=detectors or =budgets: only that half
DATABASE_URL (default: the embedded Postgres of \`npm start\`, over its Unix socket as the API
connects) is where the baseline runs.`;

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:3000' },
    key: { type: 'string' },
    duration: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '5' },
    clients: { type: 'string', default: '64' },
    members: { type: 'string', default: '1000' },
    'hot-clients': { type: 'string', default: '32' },
    'hot-duration': { type: 'string', default: '20' },
    'baseline-pool': { type: 'string', default: '16' },
    batch: { type: 'string', default: '100' },
    'batch-clients': { type: 'string', default: '8' },
    phases: { type: 'string', default: 'app,baseline,floor,hot,batch' },
    guardrails: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

function positive(name: keyof typeof args, orZero = false): number {
  const value = Number(args[name]);
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !orZero))
    throw new Error(`--${name} must be a ${orZero ? 'non-negative' : 'positive'} number`);
  return value;
}

function apiKey(): string {
  if (args.key) return args.key;
  if (process.env.LOYALTY_API_KEY) return process.env.LOYALTY_API_KEY;
  const file = path.resolve(__dirname, '..', loadStackConfig().LOYALTY_DATA_DIR, 'local-admin-key');
  if (!fs.existsSync(file)) throw new Error(`no --key, no LOYALTY_API_KEY and no ${file}`);
  return fs.readFileSync(file, 'utf8').trim();
}

interface Balance {
  available: number;
  pending: number;
  held: number;
  debt: number;
}
interface EventAnswer {
  points: { earned: number; capped: number };
  balance: Balance;
}
interface Audit {
  consistent: boolean;
  problems: string[];
  stored: Balance;
  fromLedger: Balance;
}

const categories = ['food', 'books', 'toys', 'garden', 'music'];
const runId = `b${Date.now().toString(36)}`;
let nextEvent = 0;
/** Members that had points cut by a cap (the default program caps 10,000 points a day). */
const capped = new Set<string>();
/** With --guardrails: puts the programme version that was in force back. */
let restoreRules: (() => Promise<void>) | undefined;

/** A purchase of 1 to 3 lines; `cents` fixes a one-line amount (the hot member's small buys). */
function purchase(memberId: string, cents?: number) {
  const id = `${runId}-${nextEvent++}`;
  const lineCents = cents
    ? [cents]
    : Array.from({ length: 1 + (nextEvent % 3) }, () => 100 + Math.floor(Math.random() * 4900));
  const lines = lineCents.map((c, i) => ({
    sku: `SKU-${i}-${c % 97}`,
    category: categories[(c + i) % categories.length]!,
    quantity: 1 + (c % 3),
    amount: c / 100,
  }));
  const total = lineCents.reduce((a, b) => a + b, 0);
  return {
    type: 'purchase',
    eventId: `evt-${id}`,
    memberId,
    orderId: `ord-${id}`,
    amount: total / 100,
    currency: 'EUR',
    channel: 'web',
    country: 'DE',
    lines,
  };
}

function expectStatus(res: JsonResponse, ...wanted: number[]): void {
  if (wanted.includes(res.status)) return;
  const problem = res.body as { title?: string; detail?: string } | undefined;
  throw new Error(`HTTP ${res.status} ${problem?.title ?? ''}: ${problem?.detail ?? ''}`.trim());
}

async function enrol(http: JsonClient, externalIds: string[]): Promise<string[]> {
  return inParallel(externalIds, 16, async (externalId) => {
    const res = await http.request('POST', '/members', { externalId });
    expectStatus(res, 201, 200);
    return (res.body as { id: string }).id;
  });
}

/** Load that posts purchases; adds what each member earned to `earned`. */
function postEvents(
  http: JsonClient,
  pick: () => string,
  earned: Map<string, number>,
  cents?: number,
) {
  return async (): Promise<boolean> => {
    const memberId = pick();
    const res = await http.request('POST', '/events', purchase(memberId, cents));
    expectStatus(res, 201);
    const answer = res.body as EventAnswer;
    earned.set(memberId, (earned.get(memberId) ?? 0) + answer.points.earned);
    if (answer.points.capped > 0) capped.add(memberId);
    return true;
  };
}

/** Load that posts batches of `size` purchases; adds what each member earned to `earned`. */
function postBatches(
  http: JsonClient,
  pick: () => string,
  earned: Map<string, number>,
  size: number,
) {
  return async (): Promise<boolean> => {
    const events = Array.from({ length: size }, () => purchase(pick()));
    const res = await http.request('POST', '/events/batch', { events });
    expectStatus(res, 200);
    const { results } = res.body as { results: { status: number; body: EventAnswer }[] };
    results.forEach((result, i) => {
      if (result.status !== 201) throw new Error(`event answered ${result.status}`);
      const memberId = events[i]!.memberId;
      earned.set(memberId, (earned.get(memberId) ?? 0) + result.body.points.earned);
      if (result.body.points.capped > 0) capped.add(memberId);
    });
    return true;
  };
}

/** Audits each member and compares its balance with what the API said it earned. */
async function verify(http: JsonClient, earned: Map<string, number>): Promise<Verification> {
  const mismatches: string[] = [];
  await inParallel([...earned], 16, async ([memberId, points]) => {
    const res = await http.request('GET', `/members/${memberId}/audit`);
    expectStatus(res, 200);
    const audit = res.body as Audit;
    const total = (b: Balance) => b.available + b.pending + b.held - b.debt;
    if (!audit.consistent) mismatches.push(`${memberId}: ${audit.problems.join('; ')}`);
    else if (total(audit.stored) !== points || total(audit.fromLedger) !== points)
      mismatches.push(`${memberId}: earned ${points}, balance ${total(audit.stored)}`);
  });
  return {
    members: earned.size,
    mismatches,
    earned: [...earned.values()].reduce((a, b) => a + b, 0),
  };
}

async function settle(databaseUrl: string, prefix: string): Promise<void> {
  const { seconds, waiting } = await waitForLifecycles(databaseUrl, prefix, 600_000);
  console.log(
    waiting
      ? `${waiting} lifecycle workflows still without a first review after ${seconds.toFixed(0)} s; going on`
      : `lifecycle workflows settled in ${seconds.toFixed(1)} s`,
  );
}

async function main(): Promise<void> {
  if (args.help) return console.log(usage);
  const durationMs = positive('duration') * 1000;
  const warmupMs = positive('warmup', true) * 1000;
  const clients = positive('clients');
  const members = positive('members');
  const hotClients = positive('hot-clients');
  const hotMs = positive('hot-duration') * 1000;
  const batchSize = positive('batch');
  const batchClients = positive('batch-clients');
  const phases = new Set(args.phases.split(','));
  const database = stackDatabaseUrl();
  const databaseUrl = database.url;
  const http = new JsonClient(args.url, apiKey(), Math.max(clients, hotClients, 16));

  console.log(
    `bench:accrual run ${runId}: ${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, node ${process.version}`,
  );
  expectStatus(await http.request('GET', '/health'), 200);
  console.log(`guardrails: ${args.guardrails ? 'on' : 'off (as the programme in force has them)'}`);
  if (args.guardrails) restoreRules = await installGuardrails(databaseUrl);

  let app: { load: LoadResult; verification: Verification } | undefined;
  let baseline: BaselineResult | undefined;
  let hot: { load: LoadResult; verification: Verification; capped: boolean } | undefined;
  let floor: LoadResult | undefined;
  let batch: { load: LoadResult; verification: Verification; size: number } | undefined;
  let ids: string[] = [];
  /** What the app phase's members earned: the batch phase goes on from there. */
  let appEarned = new Map<string, number>();

  if (phases.has('app')) {
    let started = Date.now();
    ids = await enrol(
      http,
      Array.from({ length: members }, (_, i) => `${runId}-${i}`),
    );
    console.log(
      `enrolled ${ids.length} members in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    await settle(databaseUrl, `${runId}-`);
    const earned = new Map<string, number>();
    const pick = () => ids[Math.floor(Math.random() * ids.length)]!;
    if (warmupMs > 0) {
      await runLoad('warm-up', clients, warmupMs, postEvents(http, pick, earned));
    }
    console.log(`app: ${clients} clients over ${members} members for ${durationMs / 1000} s...`);
    const load = await runLoad(
      'app (POST /events)',
      clients,
      durationMs,
      postEvents(http, pick, earned),
    );
    started = Date.now();
    const verification = await verify(http, earned);
    console.log(
      `audited ${verification.members} members in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    app = { load, verification };
    appEarned = earned;
  }

  if (phases.has('baseline')) {
    console.log(
      `baseline: ${clients} clients, pg pool of ${args['baseline-pool']}, over ${database.via}, ${durationMs / 1000} s...`,
    );
    baseline = await runBaseline({
      databaseUrl,
      runId,
      clients,
      members,
      poolSize: positive('baseline-pool'),
      durationMs,
    });
  }

  if (phases.has('floor')) {
    const server = await startHttpFloor();
    const floorHttp = new JsonClient(server.url, 'none', clients);
    console.log(`floor: ${clients} clients, the HTTP stack alone, ${durationMs / 1000} s...`);
    try {
      floor = await runLoad('HTTP floor', clients, durationMs, async () => {
        const res = await floorHttp.request('POST', '/events', purchase(runId));
        expectStatus(res, 201);
        return true;
      });
    } finally {
      floorHttp.close();
      server.stop();
    }
  }

  if (phases.has('hot')) {
    const [memberId] = await enrol(http, [`${runId}-hot`]);
    await settle(databaseUrl, `${runId}-hot`);
    const earned = new Map([[memberId!, 0]]);
    console.log(`hot: ${hotClients} clients on member ${memberId} for ${hotMs / 1000} s...`);
    // 1.00 EUR a purchase earns a point or two, to stay under the daily cap as long as possible.
    const load = await runLoad(
      'hot member',
      hotClients,
      hotMs,
      postEvents(http, () => memberId!, earned, 100),
    );
    hot = { load, verification: await verify(http, earned), capped: capped.has(memberId!) };
  }

  if (phases.has('batch')) {
    if (ids.length === 0) {
      ids = await enrol(
        http,
        Array.from({ length: members }, (_, i) => `${runId}-${i}`),
      );
      await settle(databaseUrl, `${runId}-`);
    }
    // The app phase's members, so their audits must add up what both phases earned.
    const earned = new Map(appEarned);
    const pick = () => ids[Math.floor(Math.random() * ids.length)]!;
    const label = `batch (${batchSize}/req)`;
    console.log(
      `batch: ${batchClients} clients, ${batchSize} events a request, for ${durationMs / 1000} s...`,
    );
    const load = await runLoad(
      label,
      batchClients,
      durationMs,
      postBatches(http, pick, earned, batchSize),
    );
    batch = { load, verification: await verify(http, earned), size: batchSize };
  }

  http.close();
  printReport({ app, baseline, floor, hot, batch });
  await restoreRules?.();
}

main().catch(async (err: unknown) => {
  console.error(`bench:accrual could not run: ${(err as Error).stack ?? String(err)}`);
  await restoreRules?.();
  process.exit(1);
});
