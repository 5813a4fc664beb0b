/**
 * `npm run bench:webhooks`: accrual with and without webhook subscriptions (issue #12), against a
 * running stack (`npm start`).
 *
 * Phases, in `--order` (default none,subscribed,none,subscribed,none): `none` posts purchases for `--duration`
 * seconds with no subscription of this bench enabled; `subscribed` first subscribes three live
 * receivers and one dead endpoint (a closed port) to `*`, posts purchases the same way, waits for
 * the live receivers to have every delivery, then disables the four. The receivers are real HTTP
 * servers in this process; each records when every `webhook-id` first arrived and how often.
 *
 * Prints events/s per phase, CPU by process, each subscribed phase's rate against the `none`
 * phases beside it, delivery lag (arrival minus the event's `timestamp`) p50/p99/max at the live receivers,
 * duplicates and missing deliveries, and what the dead endpoint cost (attempts, pending).
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Client as PgClient } from 'pg';
import { loadConfig } from '../config';
import { JsonClient } from './http';
import { percentile } from './latency';
import { inParallel, runLoad, type LoadResult } from './load';
import { apiKey, count, expectStatus, positive, sleep } from './options';
import { waitForLifecycles } from './settle';
import { attemptsBetween, countWork, printWork, type Window } from './webhook-work';

const usage = `Usage: npm run bench:webhooks -- [options]
  --url URL          API base URL (default http://127.0.0.1:3000)
  --key KEY          admin API key (default: $LOYALTY_API_KEY, else the one npm start keeps)
  --duration S       seconds per phase (default 20)
  --warmup S         unmeasured seconds of load first (default 5)
  --clients N        concurrent clients (default 64)
  --members N        members the load spreads over (default 500)
  --order LIST       phases, each none or subscribed (default none,subscribed,none,subscribed,none)
  --drain S          at most this long to wait for the live receivers afterwards (default 120)
  --work             afterwards, count workflow tasks, activities, signals, timers and
                     continue-as-new per phase from the Temporal histories ($TEMPORAL_ADDRESS)`;

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:3000' },
    key: { type: 'string' },
    duration: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5' },
    clients: { type: 'string', default: '64' },
    members: { type: 'string', default: '500' },
    order: { type: 'string', default: 'none,subscribed,none,subscribed,none' },
    drain: { type: 'string', default: '120' },
    work: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

interface Receiver {
  url: string;
  /** Arrivals per webhook-id, and the lag of each id's first arrival (ms). */
  arrivals: Map<string, number>;
  lags: number[];
  close: () => Promise<void>;
}

/** A partner endpoint answering 204 at once, recording arrivals and lag. */
async function startReceiver(): Promise<Receiver> {
  const arrivals = new Map<string, number>();
  const lags: number[] = [];
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      const seen = arrivals.get(id) ?? 0;
      arrivals.set(id, seen + 1);
      if (seen === 0) {
        const { timestamp } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          timestamp: string;
        };
        lags.push(Date.now() - Date.parse(timestamp));
      }
      res.writeHead(204).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    arrivals,
    lags,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A URL nobody listens on: a port taken and given back. */
async function deadUrl(): Promise<string> {
  const server = http.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/hooks`;
}

const runId = `w${Date.now().toString(36)}`;
let nextEvent = 0;
function purchase(memberId: string) {
  const id = `${runId}-${nextEvent++}`;
  const cents = 100 + Math.floor(Math.random() * 4900);
  return {
    type: 'purchase',
    eventId: `evt-${id}`,
    memberId,
    orderId: `ord-${id}`,
    amount: cents / 100,
    currency: 'EUR',
    channel: 'web',
    country: 'DE',
    lines: [{ sku: `SKU-${cents % 97}`, category: 'books', quantity: 1, amount: cents / 100 }],
  };
}

interface Subscribed {
  live: { id: string; receiver: Receiver }[];
  dead: { id: string; url: string };
}

async function subscribe(client: JsonClient): Promise<Subscribed> {
  const create = async (url: string) => {
    const res = await client.request('POST', '/webhooks/subscriptions', {
      url,
      eventTypes: ['*'],
      description: `bench:webhooks ${runId}`,
    });
    expectStatus(res, 201);
    return (res.body as { subscription: { id: string } }).subscription.id;
  };
  const live = [];
  for (let i = 0; i < 3; i++) {
    const receiver = await startReceiver();
    live.push({ id: await create(receiver.url), receiver });
  }
  const url = await deadUrl();
  return { live, dead: { id: await create(url), url } };
}

interface Delivered {
  /** Deliveries made for the live subscriptions, and those still pending after the drain. */
  made: number;
  pending: number;
  received: number;
  duplicates: number;
  lag: { p50: number; p99: number; max: number };
  drainSeconds: number;
  dead: { made: number; attempts: number; pending: number; status: string };
}

async function drainAndCount(pg: PgClient, subscribed: Subscribed): Promise<Delivered> {
  const liveIds = subscribed.live.map((l) => l.id);
  const started = Date.now();
  const pendingOf = async () => {
    const { rows } = await pg.query<{ n: string }>(
      `SELECT count(*) AS n FROM webhook_deliveries WHERE subscription_id = ANY($1::uuid[])
       AND status = 'pending'`,
      [liveIds],
    );
    return Number(rows[0]!.n);
  };
  let pending = await pendingOf();
  while (pending > 0 && Date.now() - started < positive('drain', args.drain) * 1000) {
    await sleep(250);
    pending = await pendingOf();
  }
  const drainSeconds = (Date.now() - started) / 1000;
  const { rows: made } = await pg.query<{ n: string }>(
    'SELECT count(*) AS n FROM webhook_deliveries WHERE subscription_id = ANY($1::uuid[])',
    [liveIds],
  );
  const { rows: dead } = await pg.query<{
    made: string;
    attempts: string;
    pending: string;
    status: string;
  }>(
    `SELECT count(*) AS made, coalesce(sum(d.attempts), 0) AS attempts,
       count(*) FILTER (WHERE d.status = 'pending') AS pending, s.status
     FROM webhook_subscriptions s LEFT JOIN webhook_deliveries d ON d.subscription_id = s.id
     WHERE s.id = $1 GROUP BY s.status`,
    [subscribed.dead.id],
  );
  const receivers = subscribed.live.map((l) => l.receiver);
  const lags = receivers.flatMap((r) => r.lags).sort((a, b) => a - b);
  return {
    made: Number(made[0]!.n),
    pending,
    received: receivers.reduce((n, r) => n + r.arrivals.size, 0),
    duplicates: receivers.reduce(
      (n, r) => n + [...r.arrivals.values()].reduce((d, times) => d + times - 1, 0),
      0,
    ),
    lag: { p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags.at(-1) ?? NaN },
    drainSeconds,
    dead: {
      made: Number(dead[0]!.made),
      attempts: Number(dead[0]!.attempts),
      pending: Number(dead[0]!.pending),
      status: dead[0]!.status,
    },
  };
}

const cores = (load: LoadResult) =>
  load.cpu
    ? Object.entries(load.cpu.cores)
        .map(([group, n]) => `${group} ${n.toFixed(2)}`)
        .join(', ')
    : 'n/a';

async function main(): Promise<void> {
  if (args.help) return console.log(usage);
  const durationMs = positive('duration', args.duration) * 1000;
  const warmupMs = positive('warmup', args.warmup, true) * 1000;
  const clients = positive('clients', args.clients);
  const members = positive('members', args.members);
  const order = args.order.split(',');
  if (order.some((p) => p !== 'none' && p !== 'subscribed'))
    throw new Error('--order takes none and subscribed, separated by commas');
  const databaseUrl = loadConfig().DATABASE_URL;
  const client = new JsonClient(args.url, apiKey(args.key), Math.max(clients, 16));
  const pg = new PgClient({ connectionString: databaseUrl });
  await pg.connect();
  console.log(
    `bench:webhooks run ${runId}: ${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, node ${process.version}`,
  );
  expectStatus(await client.request('GET', '/health'), 200);

  const ids = await inParallel(
    Array.from({ length: members }, (_, i) => `${runId}-${i}`),
    16,
    async (externalId) => {
      const res = await client.request('POST', '/members', { externalId });
      expectStatus(res, 201, 200);
      return (res.body as { id: string }).id;
    },
  );
  await waitForLifecycles(databaseUrl, `${runId}-`, 600_000);
  const post = async () => {
    const memberId = ids[Math.floor(Math.random() * ids.length)]!;
    expectStatus(await client.request('POST', '/events', purchase(memberId)), 201);
    return true;
  };
  if (warmupMs > 0) await runLoad('warm-up', clients, warmupMs, post);

  const results: {
    phase: string;
    load: LoadResult;
    delivered?: Delivered;
    window: Window;
    sent: number;
  }[] = [];
  const windows: Window[] = [];
  for (const [i, phase] of order.entries()) {
    const subscribed = phase === 'subscribed' ? await subscribe(client) : undefined;
    console.log(`${phase}: ${clients} clients over ${members} members for ${durationMs / 1000} s`);
    const window = { name: `${i + 1} ${phase}`, from: Date.now(), to: 0 };
    const load = await runLoad(phase, clients, durationMs, post);
    window.to = Date.now();
    const between = { name: `${i + 1} ${phase}, after the load`, from: window.to, to: 0 };
    windows.push(window, between);
    let delivered: Delivered | undefined;
    if (subscribed) {
      delivered = await drainAndCount(pg, subscribed);
      for (const s of [...subscribed.live.map((l) => l.id), subscribed.dead.id]) {
        const res = await client.request('PATCH', `/webhooks/subscriptions/${s}`, {
          enabled: false,
        });
        expectStatus(res, 200);
      }
      await Promise.all(subscribed.live.map((l) => l.receiver.close()));
    }
    between.to = Date.now();
    const sent = await attemptsBetween(pg, window);
    results.push({ phase, load, window, sent, ...(delivered ? { delivered } : {}) });
  }
  client.close();

  console.log('\nphase          events/s   p50 ms   p99 ms   CPU by process (cores)');
  for (const { phase, load } of results) {
    console.log(
      `${phase.padEnd(12)} ${load.rate.toFixed(1).padStart(10)} ${load.latency.p50
        .toFixed(1)
        .padStart(8)} ${load.latency.p99.toFixed(1).padStart(8)}   ${cores(load)}`,
    );
  }
  // CPU per request sent, by process: the cost of a delivery, which other load barely changes.
  console.log('\nrequests sent during the load, and CPU ms per request sent');
  for (const { phase, load, sent, window } of results) {
    if (!load.cpu || sent === 0) continue;
    const seconds = (window.to - window.from) / 1000;
    const per = Object.entries(load.cpu.cores)
      .filter(([group]) => group !== 'other')
      .map(([group, n]) => `${group} ${((n * seconds * 1000) / sent).toFixed(3)}`)
      .join(', ');
    console.log(`${phase.padEnd(12)} ${String(sent).padStart(8)} sent   ${per}`);
  }
  if (args.work) {
    const config = loadConfig();
    const work = await countWork(config.TEMPORAL_ADDRESS, config.TEMPORAL_NAMESPACE, windows);
    console.log('\nTemporal work by phase (history events in each window, by workflow type)');
    printWork(work);
    for (const w of windows)
      console.log(
        `  ${w.name}: ${new Date(w.from).toISOString()} .. ${new Date(w.to).toISOString()}, ${await attemptsBetween(pg, w)} requests sent`,
      );
  }
  await pg.end();
  // Each subscribed phase against the none phases beside it (before and after): the database
  // grows during a run and accrual slows with it, so a far-off phase is no fair comparison.
  results.forEach(({ phase, load, delivered: d }, i) => {
    if (phase !== 'subscribed' || !d) return;
    const beside = [results[i - 1], results[i + 1]].filter((r) => r?.phase === 'none');
    const noneRate = beside.reduce((n, r) => n + r!.load.rate, 0) / (beside.length || NaN);
    const ratio = load.rate / noneRate;
    console.log(
      `\nsubscribed (phase ${i + 1}) / none beside it: ${(ratio * 100).toFixed(1)} % of ${noneRate.toFixed(1)}/s`,
    );
    console.log(
      `live receivers: ${count(d.made)} deliveries made, ${count(d.received)} ids received, ` +
        `${d.duplicates} duplicates, ${d.pending} still pending after ${d.drainSeconds.toFixed(1)} s`,
    );
    console.log(`delivery lag: p50 ${d.lag.p50} ms, p99 ${d.lag.p99} ms, max ${d.lag.max} ms`);
    console.log(
      `dead endpoint: ${count(d.dead.made)} deliveries, ${count(d.dead.attempts)} attempts, ` +
        `${count(d.dead.pending)} pending, subscription ${d.dead.status}`,
    );
    const mark = (ok: boolean) => (ok ? 'PASS' : 'MISS');
    console.log('targets:');
    console.log(`  ${mark(d.lag.p99 < 5000)}  delivery lag p99 < 5 s        ${d.lag.p99} ms`);
    console.log(
      `  ${mark(d.duplicates === 0 && d.received === d.made && d.pending === 0)}  each id once                  ${d.received}/${d.made}, ${d.duplicates} duplicates`,
    );
    console.log(
      `  ${mark(ratio >= 0.9)}  accrual within 10 % of none   ${(ratio * 100).toFixed(1)} %`,
    );
  });
}

main().catch((err: unknown) => {
  console.error(`bench:webhooks could not run: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
