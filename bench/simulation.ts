/**
 * `npm run bench:simulation`: a what-if over a million stored events, through the real workflow.
 *
 *   1. starts a throwaway embedded Postgres (or uses DATABASE_URL, which must name an empty
 *      database it may fill) and an in-memory Temporal dev server, runs the migrations;
 *   2. generates --members members and --events stored events (purchases in three currencies and
 *      two channels, reviews, referrals), each with its ledger entry, spread over a 30-day window,
 *      set-based in Postgres (generate_series);
 *   3. starts a worker (every workflow and activity, as `npm run worker` does), then times one
 *      simulation of a changed program over the window, from the start of `simulation:<id>` to
 *      its result, printing progress as the pages go; prints the time and events/s.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig, loadStackConfig } from '../config';
import { createSimulation, findSimulation } from '../changes/simulations';
import { defaultProgram, type ProgramInput } from '../domain/program';
import { createDb, migrateLatest, type Db } from '../infra/db';
import { createLogger } from '../infra/logger';
import { dataConverterOf } from '../infra/payload-codec';
import { temporalLogger } from '../workers/logging';
import { findTemporalCli } from '../stack/temporal-cli';
import { freePort } from '../stack/ports';
import { startEmbeddedPostgres, startTemporal } from '../stack/services';
import { Supervisor } from '../stack/supervisor';
import { createWorker } from '../workers/worker';
import type { simulationWorkflow } from '../workflows/simulation';
import { workflowIds } from '../workflows/shared';
import { count, positive } from './options';

const usage = `Usage: npm run bench:simulation -- [options]
  --events N      stored events in the window (default 1000000)
  --members N     members they belong to (default 100000)
  --page N        SIMULATION_PAGE_SIZE, events per page (default: the config's, 10000)
  --dir DIR       keep the embedded Postgres here; a second run reuses its events
Set DATABASE_URL to use an empty database of your own instead of an embedded Postgres.`;

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    members: { type: 'string', default: '100000' },
    page: { type: 'string' },
    dir: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

const log = (message: string) => console.log(`[bench:simulation] ${message}`);
const DAY = 86_400_000;

/** The change simulated: other rates and multipliers, a bonus, tighter caps. */
const proposed: ProgramInput = {
  ...defaultProgram,
  earning: {
    ...defaultProgram.earning,
    pointsPerUnit: { EUR: 1.2, USD: 1, GBP: 1.5 },
    channelMultipliers: { app: 2 },
    eventPoints: { referral: 400, review: 75 },
    bonuses: [{ name: 'big-basket', eventType: 'purchase', minAmount: 150, points: 50 }],
    caps: { all: { perDay: 5_000 }, byEventType: { review: { perMonth: 150 } } },
  },
};

/**
 * Members, then events with their ledger entries, 100,000 events a statement. Event k of member i
 * is a purchase (8 in 10: one or two lines, EUR/USD/GBP, web or app), a review or a referral.
 */
async function generate(db: Db, members: number, events: number, from: Date): Promise<void> {
  await db.raw(
    `INSERT INTO members (id, external_id, status, tier, enrolled_at, updated_at)
     SELECT md5('simbench' || i)::uuid, 'simbench-' || i, 'active',
       CASE WHEN i % 20 = 0 THEN 'Gold' WHEN i % 5 = 0 THEN 'Silver' ELSE 'Member' END,
       ?::timestamptz - interval '400 days', now()
     FROM generate_series(1, ?::int) i`,
    [from, members],
  );
  const span = 30 * 86_400;
  for (let first = 0; first < events; first += 100_000) {
    const last = Math.min(events, first + 100_000) - 1;
    await db.raw(
      `WITH e AS (
         SELECT n, 1 + n % :members AS i, 'sb-' || n AS id,
           :from::timestamptz + make_interval(secs => (n::bigint * 7919) % :span) AS at,
           CASE WHEN n % 10 = 8 THEN 'review' WHEN n % 10 = 9 THEN 'referral' ELSE 'purchase' END
             AS type,
           (ARRAY['EUR', 'USD', 'GBP'])[1 + n % 3] AS currency,
           CASE WHEN n % 4 = 0 THEN 'app' ELSE 'web' END AS channel,
           10 + (n * 37) % 190 AS amount
         FROM generate_series(:first::int, :last::int) n),
       ev AS (
         INSERT INTO ledger_events (id, member_id, type, order_id, request_hash, payload,
           response, rule_version, occurred_at, created_at)
         SELECT e.id, md5('simbench' || e.i)::uuid, e.type,
           CASE WHEN e.type = 'purchase' THEN 'o-' || e.id END, 'bench',
           CASE WHEN e.type = 'purchase' THEN jsonb_build_object('type', 'purchase',
             'eventId', e.id, 'orderId', 'o-' || e.id, 'currency', e.currency,
             'amount', e.amount, 'channel', e.channel, 'country', 'DE',
             'lines', CASE WHEN e.n % 2 = 0
               THEN jsonb_build_array(jsonb_build_object('sku', 'a', 'category', 'books',
                 'quantity', 1, 'amount', e.amount))
               ELSE jsonb_build_array(
                 jsonb_build_object('sku', 'a', 'category', 'books', 'quantity', 2,
                   'amount', e.amount - 5),
                 jsonb_build_object('sku', 'b', 'category', 'giftcards', 'quantity', 1,
                   'amount', 5)) END)
           ELSE jsonb_build_object('type', e.type, 'eventId', e.id) END,
           jsonb_build_object('points', jsonb_build_object('earned', e.amount, 'base', e.amount,
             'bonus', 0, 'bonuses', '[]'::jsonb, 'capped', 0), 'tier', 'Member'),
           1, e.at, e.at
         FROM e RETURNING id, member_id, created_at)
       INSERT INTO ledger_entries (member_id, kind, amount, available_delta, qualifying, reason,
         actor, source_event_id, dedupe_key, rule_version, created_at)
       SELECT ev.member_id, 'accrual', e.amount, e.amount, e.amount, 'bench', 'bench', ev.id,
         'event:' || ev.id, 1, ev.created_at
       FROM ev JOIN e ON e.id = ev.id`,
      { members, from, span, first, last },
    );
    log(`${count(last + 1)} events`);
  }
}

async function main(): Promise<void> {
  if (args.help) {
    console.log(usage);
    return;
  }
  const events = positive('events', args.events);
  const members = positive('members', args.members);
  const dir = args.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bench-simulation-'));
  const supervisor = new Supervisor(path.join(dir, 'bench.pids.json'));
  try {
    let url = process.env.DATABASE_URL;
    if (!url) {
      url = await startEmbeddedPostgres(supervisor, {
        root: path.join(dir, 'pg'),
        port: await freePort(),
        password: 'bench',
        database: 'loyalty_bench',
        fast: true,
        output: 'on-failure',
      });
      log(`embedded Postgres in ${dir}`);
    }
    const address = await startTemporal(supervisor, {
      cli: await findTemporalCli(loadStackConfig().TEMPORAL_CLI_PATH, log),
      port: await freePort(),
      namespace: 'default',
      output: 'on-failure',
    });
    const config = {
      ...loadConfig(),
      DATABASE_URL: url,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TASK_QUEUE: 'bench-simulation',
      WORKER_METRICS_PORT: 0,
      LOG_LEVEL: 'warn' as const,
      ...(args.page ? { SIMULATION_PAGE_SIZE: positive('page', args.page) } : {}),
    };
    const db = createDb({ url, poolMax: 10 });
    await migrateLatest(db);
    const window = { from: new Date(Date.now() - 31 * DAY), to: new Date(Date.now() - DAY) };
    const { rows } = await db.raw<{ rows: { n: number; from: Date | null }[] }>(
      `SELECT count(*)::int AS n, min(occurred_at) AS from FROM ledger_events WHERE id LIKE 'sb-%'`,
    );
    if (rows[0]!.n === 0) {
      const started = performance.now();
      await generate(db, members, events, window.from);
      await db.raw('VACUUM ANALYZE');
      log(`generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } else {
      window.from = rows[0]!.from!;
      window.to = new Date(window.from.getTime() + 30 * DAY);
      log(`reusing ${count(rows[0]!.n)} events already in the database`);
    }

    Runtime.install({ logger: temporalLogger(createLogger({ level: 'warn', name: 'temporal' })) });
    const connection = await NativeConnection.connect({ address });
    const client = new Client({
      connection: await Connection.connect({ address }),
      dataConverter: dataConverterOf(config),
    });
    const worker = await createWorker({ config, connection, db, temporal: client });
    const running = worker.run();
    try {
      const id = `bench-${Date.now().toString(36)}`;
      const input = {
        simulationId: id,
        program: proposed,
        window: { from: window.from.toISOString(), to: window.to.toISOString() },
        actor: 'bench',
      };
      const row = await createSimulation(db, { id, ...input, createdBy: 'bench' });
      log(`simulating ${count(row.total)} events, ${config.SIMULATION_PAGE_SIZE} a page`);
      const started = performance.now();
      const handle = await client.workflow.start<typeof simulationWorkflow>('simulationWorkflow', {
        workflowId: workflowIds.simulation(id),
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        args: [input],
      });
      const ticker = setInterval(() => {
        void findSimulation(db, id).then((r) =>
          log(
            `  ${((performance.now() - started) / 1000).toFixed(0)} s: ${count(r?.processed ?? 0)} processed`,
          ),
        );
      }, 10_000);
      const result = await handle.result().finally(() => clearInterval(ticker));
      const seconds = (performance.now() - started) / 1000;
      log(
        `${count(result.events)} events, ${count(result.activeMembers)} members in ${seconds.toFixed(1)} s: ${count(Math.round(result.events / seconds))} events/s (target: 1,000,000 in under 120 s)`,
      );
      log(
        `points actual ${count(result.points.actual)}, simulated ${count(result.points.simulated)}, delta ${count(result.points.delta)}; tiers up ${result.tiers.up}, down ${result.tiers.down}; caps ${result.caps.map((c) => `${c.cap} ${c.events}`).join(', ')}`,
      );
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
      await client.connection.close();
      await db.destroy();
    }
  } finally {
    await supervisor.stopAll(log);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
