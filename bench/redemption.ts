/**
 * `npm run bench:redemption`: physical-reward redemptions end to end against a running stack
 * (`npm start`: API, worker, Temporal, Postgres and the warehouse simulator).
 *
 *   1. setup:  through the API, a physical reward with ample stock and --members members, each
 *              granted ample points (an adjustment);
 *   2. load:   --clients closed-loop clients, each: POST /redemptions (quantity 1), then
 *              GET /redemptions/:id every --poll-ms until it says completed (or failed); a
 *              --warmup first, then --duration seconds measured;
 *   3. check:  every redemption completed, balances and audits exact, stock exact, one shipment
 *              per redemption at the warehouse (see redemption-check.ts);
 *   4. where the time went, from the Temporal histories of a sample (histories.ts).
 *
 * Prints completed/s, POST and end-to-end latencies, CPU by process and the targets
 * (informational: the exit code is 0 whenever the bench could run).
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { readHistories, type HistoryReport } from './histories';
import { JsonClient } from './http';
import { Latencies } from './latency';
import { inParallel, runLoad } from './load';
import { apiKey, expectStatus, positive, sleep } from './options';
import { checkRun, type RedemptionRun } from './redemption-check';
import { printReport } from './redemption-report';
import { waitForLifecycles } from './settle';
import { stackCpu, stackSnapshot, type StackSnapshot } from './stack-cpu';

const usage = `Usage: npm run bench:redemption -- [options]
  --url URL             API base URL (default http://127.0.0.1:3000)
  --key KEY             admin API key (default: $LOYALTY_API_KEY, else <LOYALTY_DATA_DIR>/local-admin-key)
  --warehouse-url URL   the warehouse simulator, for the shipment check (default http://127.0.0.1:4101)
  --duration S          seconds measured (default 60)
  --warmup S            seconds of load before the measured window (default 10)
  --clients N           concurrent closed-loop clients (default 32)
  --members N           members the redemptions spread over (default 500)
  --poll-ms MS          time between two GET /redemptions/:id of one client (default 100)
  --histories N         redemptions whose Temporal history is read afterwards (default 20; 0: none)
DATABASE_URL (default: the embedded Postgres of \`npm start\`) is read to wait for the new members'
lifecycle workflows; TEMPORAL_ADDRESS (default 127.0.0.1:7233) and TEMPORAL_NAMESPACE for the
histories.`;

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:3000' },
    key: { type: 'string' },
    'warehouse-url': { type: 'string', default: 'http://127.0.0.1:4101' },
    duration: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '10' },
    clients: { type: 'string', default: '32' },
    members: { type: 'string', default: '500' },
    'poll-ms': { type: 'string', default: '100' },
    histories: { type: 'string', default: '20' },
    help: { type: 'boolean', default: false },
  },
});

const runId = `r${Date.now().toString(36)}`;
const pointsCost = 100;
/** Enough for every redemption any run could make, so stock never runs out. */
const initialStock = 1_000_000;
/** Enough points for 10,000 redemptions per member. */
const grant = 1_000_000;
/** A redemption not ended after this long counts as failed by the client. */
const patienceMs = 120_000;

interface RedemptionAnswer {
  redemptionId: string;
  status: string;
  reason: string | null;
  live?: { failureType: string | null } | null;
}

async function setUp(http: JsonClient, members: number): Promise<RedemptionRun> {
  const rewardId = `bench-${runId}`;
  const reward = await http.request('POST', '/rewards', {
    id: rewardId,
    kind: 'physical',
    name: `Bench reward ${runId}`,
    category: 'bench',
    currency: 'EUR',
    pointsCost,
    cashValue: 5,
    inventory: { onHand: initialStock, threshold: 0 },
  });
  expectStatus(reward, 201);
  const externalIds = Array.from({ length: members }, (_, i) => `${runId}-${i}`);
  const ids = await inParallel(externalIds, 16, async (externalId) => {
    const member = await http.request('POST', '/members', { externalId });
    expectStatus(member, 201);
    const id = (member.body as { id: string }).id;
    const adjusted = await http.request('POST', `/members/${id}/adjustments`, {
      points: grant,
      reason: `bench:redemption ${runId}`,
    });
    expectStatus(adjusted, 201);
    return id;
  });
  return {
    rewardId,
    pointsCost,
    initialStock,
    granted: new Map(ids.map((id) => [id, grant])),
    started: new Map(),
  };
}

async function main(): Promise<void> {
  if (args.help) return console.log(usage);
  const durationMs = positive('duration', args.duration) * 1000;
  const warmupMs = positive('warmup', args.warmup, true) * 1000;
  const clients = positive('clients', args.clients);
  const members = positive('members', args.members);
  const pollMs = positive('poll-ms', args['poll-ms']);
  const historyCount = positive('histories', args.histories, true);
  const config = loadConfig();
  const http = new JsonClient(args.url, apiKey(args.key), Math.max(clients, 16));
  const warehouse = new JsonClient(args['warehouse-url'], '', 2);

  console.log(
    `bench:redemption run ${runId}: ${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, node ${process.version}`,
  );
  expectStatus(await http.request('GET', '/health'), 200);
  expectStatus(await warehouse.request('GET', '/shipments?status=cancelled'), 200);

  const begun = Date.now();
  const run = await setUp(http, members);
  console.log(
    `reward ${run.rewardId} (${initialStock} in stock, ${pointsCost} points), ${members} members with ${grant} points each: ${((Date.now() - begun) / 1000).toFixed(1)} s`,
  );
  const settled = await waitForLifecycles(config.DATABASE_URL, `${runId}-`, 600_000);
  console.log(
    settled.waiting
      ? `${settled.waiting} lifecycle workflows still without a first review after ${settled.seconds.toFixed(0)} s; going on`
      : `lifecycle workflows settled in ${settled.seconds.toFixed(1)} s`,
  );

  const memberIds = [...run.granted.keys()];
  const start = performance.now();
  const windowStart = start + warmupMs;
  const windowEnd = windowStart + durationMs;
  const post = new Latencies();
  const endToEnd = new Latencies();
  const measuredIds: string[] = [];
  let completedInWindow = 0;

  const redeem = async (): Promise<boolean> => {
    const memberId = memberIds[Math.floor(Math.random() * memberIds.length)]!;
    const sent = performance.now();
    const res = await http.request('POST', '/redemptions', {
      memberId,
      rewardId: run.rewardId,
      quantity: 1,
    });
    const inWindow = sent >= windowStart && sent < windowEnd;
    if (inWindow) post.add(performance.now() - sent);
    expectStatus(res, 201);
    const { redemptionId } = res.body as RedemptionAnswer;
    run.started.set(redemptionId, memberId);
    for (;;) {
      await sleep(pollMs);
      const got = await http.request('GET', `/redemptions/${encodeURIComponent(redemptionId)}`);
      expectStatus(got, 200);
      const { status, reason, live } = got.body as RedemptionAnswer;
      const now = performance.now();
      if (status === 'completed') {
        if (now >= windowStart && now <= windowEnd) completedInWindow++;
        if (inWindow) {
          endToEnd.add(now - sent);
          measuredIds.push(redemptionId);
        }
        return true;
      }
      if (status === 'failed' || status === 'cancelled')
        throw new Error(`${status} (${live?.failureType ?? '?'}): ${reason ?? ''}`);
      if (now - sent > patienceMs)
        throw new Error(`not ended after ${patienceMs / 1000} s (still ${status})`);
    }
  };

  let cpuBefore: StackSnapshot | undefined;
  let cpuAfter: StackSnapshot | undefined;
  let benchBefore = process.cpuUsage();
  let benchUsed = { user: 0, system: 0 };
  const timers = [
    setTimeout(() => {
      cpuBefore = stackSnapshot();
      benchBefore = process.cpuUsage();
    }, warmupMs),
    setTimeout(() => {
      cpuAfter = stackSnapshot();
      benchUsed = process.cpuUsage(benchBefore);
    }, warmupMs + durationMs),
  ];
  console.log(
    `load: ${clients} clients over ${members} members, ${warmupMs / 1000} s warm-up + ${durationMs / 1000} s measured, polling every ${pollMs} ms...`,
  );
  const load = await runLoad('redemptions', clients, warmupMs + durationMs, redeem);
  timers.forEach(clearTimeout);
  const seconds = durationMs / 1000;
  console.log(
    `load done: ${load.ok} completed, ${load.failed} failed (whole run, the last ones finished ${((performance.now() - windowEnd) / 1000).toFixed(1)} s after the window)`,
  );

  console.log('checking balances, audits, stock and shipments...');
  const check = await checkRun(http, warehouse, run);
  let histories: HistoryReport | undefined;
  if (historyCount > 0 && measuredIds.length) {
    const step = Math.max(1, Math.floor(measuredIds.length / historyCount));
    const sample = measuredIds.filter((_, i) => i % step === 0).slice(0, historyCount);
    histories = await readHistories(config.TEMPORAL_ADDRESS, config.TEMPORAL_NAMESPACE, sample);
  }
  http.close();
  warehouse.close();

  printReport(
    {
      seconds,
      clients,
      completed: completedInWindow,
      rate: completedInWindow / seconds,
      post: post.summary(),
      endToEnd: endToEnd.summary(),
      cpu: cpuBefore && cpuAfter ? stackCpu(cpuBefore, cpuAfter, seconds) : undefined,
      benchCpu: (benchUsed.user + benchUsed.system) / 1000 / durationMs,
    },
    load,
    check,
    histories,
  );
}

main().catch((err: unknown) => {
  console.error(`bench:redemption could not run: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
