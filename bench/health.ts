/**
 * `npm run bench:health`: how fast programme health answers on a big programme.
 *
 *   1. starts a throwaway embedded Postgres (or uses DATABASE_URL, which must name an empty
 *      database it may fill), runs the migrations;
 *   2. generates --members members and ten ledger entries each (accruals, a hold, a redemption
 *      or pending accrual, an expiry, an adjustment), spread over two years, plus rewards with
 *      stock, --redemptions redemptions with their timeline steps, gift cards and floats, all in
 *      Postgres (generate_series), within the schema's constraints and through its triggers, so
 *      the rollups are built as in production;
 *   3. times the snapshot (`GET /program/health`'s query, default 30-day window), a 90-day daily
 *      series of a ledger figure, of the outstanding points and of a records figure, and the
 *      `/metrics` business gauges, --runs times each; prints p50 and p95.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { registerProgramMetrics } from '../api/program-metrics';
import { createDb, migrateLatest, type Db } from '../infra/db';
import { healthSnapshot, type HealthSettings } from '../program/health';
import { healthSeries } from '../program/series';
import { alignWindow, lastDays } from '../program/window';
import { startEmbeddedPostgres } from '../stack/services';
import { Supervisor } from '../stack/supervisor';
import { freePort } from '../stack/ports';
import { count, positive } from './options';

const usage = `Usage: npm run bench:health -- [options]
  --members N       members (default 1000000); ten ledger entries each
  --redemptions N   redemptions (default 200000)
  --runs N          timed runs of each query (default 30)
  --write-blocks N  blocks of writes timed with the rollup trigger on, and as many off
                    (default 5; 0: skip); the rollup is rebuilt from the ledger afterwards
  --dir DIR         keep the embedded Postgres here; a second run reuses its data
Set DATABASE_URL to use an empty database of your own instead of an embedded Postgres.`;

const { values: args } = parseArgs({
  options: {
    members: { type: 'string', default: '1000000' },
    redemptions: { type: 'string', default: '200000' },
    runs: { type: 'string', default: '30' },
    'write-blocks': { type: 'string', default: '5' },
    dir: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

const log = (message: string) => console.log(`[bench:health] ${message}`);

async function timed(label: string, work: () => Promise<unknown>): Promise<void> {
  const started = performance.now();
  await work();
  log(`${label}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** Members, ledger entries, catalog, redemptions: set-based, in chunks of 100,000 members. */
async function generate(db: Db, members: number, redemptions: number): Promise<void> {
  const span = 730 * 86_400; // two years, in seconds
  for (let from = 1; from <= members; from += 100_000) {
    const to = Math.min(members, from + 99_999);
    // a(i) = 100 + i % 50 points per accrual; i % 10 = 0: the 8th entry is a pending accrual
    // (and the hold stays open), else a redemption; i % 4 = 0: the adjustment is -10, else +20.
    await db.raw(
      `INSERT INTO members (id, external_id, status, tier, enrolled_at, updated_at, available,
         pending, held)
       SELECT md5('bench' || i)::uuid, 'bench-' || i,
         CASE WHEN i % 20 = 0 THEN 'closed' WHEN i % 7 = 0 THEN 'dormant' ELSE 'active' END,
         CASE WHEN i % 50 = 0 THEN 'Platinum' WHEN i % 12 = 0 THEN 'Gold'
              WHEN i % 5 = 0 THEN 'Silver' ELSE 'Member' END,
         now() - make_interval(secs => ${span}), now(),
         6 * (100 + i % 50) - 150 - 50 + CASE WHEN i % 4 = 0 THEN -10 ELSE 20 END,
         CASE WHEN i % 10 = 0 THEN 100 + i % 50 ELSE 0 END,
         CASE WHEN i % 10 = 0 THEN 150 ELSE 0 END
       FROM generate_series(?::int, ?::int) i`,
      [from, to],
    );
    await db.raw(
      `INSERT INTO ledger_entries (member_id, kind, amount, available_delta, pending_delta,
         held_delta, reason, actor, dedupe_key, created_at)
       SELECT md5('bench' || i)::uuid, d.kind, d.available + d.pending + d.held, d.available,
         d.pending, d.held, 'bench', 'bench', d.key || 'bench:' || i || ':' || k,
         now() - make_interval(secs => ((i::bigint * 7919 + k * 104729) % ${span}) + 1)
       FROM generate_series(?::int, ?::int) i, generate_series(0, 9) k,
       LATERAL (SELECT
         CASE WHEN k < 6 OR (k = 7 AND i % 10 = 0) THEN 'accrual' WHEN k = 6 THEN 'hold'
              WHEN k = 7 THEN 'redemption' WHEN k = 8 THEN 'expiry' ELSE 'adjustment' END AS kind,
         CASE WHEN k < 6 THEN 100 + i % 50 WHEN k = 6 THEN -150 WHEN k = 8 THEN -50
              WHEN k = 9 THEN CASE WHEN i % 4 = 0 THEN -10 ELSE 20 END ELSE 0 END AS available,
         CASE WHEN k = 7 AND i % 10 = 0 THEN 100 + i % 50 ELSE 0 END AS pending,
         CASE WHEN k = 6 THEN 150 WHEN k = 7 AND i % 10 <> 0 THEN -150 ELSE 0 END AS held,
         CASE WHEN k = 9 AND i % 100 = 1 THEN 'adjustment:sla:' ELSE '' END AS key) d`,
      [from, to],
    );
    log(`${count(to)} members, ${count(to * 10)} ledger entries`);
  }
  await db.raw(`
    INSERT INTO rewards (id, kind, name, category, points_cost, cash_value, currency, provider,
      denomination)
    SELECT 'bench-' || r, CASE WHEN r <= 80 THEN 'physical' ELSE 'gift_card' END, 'Reward ' || r,
      'bench', 100 + r * 10, 5 + r, 'EUR', CASE WHEN r > 80 THEN 'giftco' END,
      CASE WHEN r > 80 THEN 25 END
    FROM generate_series(1, 100) r;
    INSERT INTO inventory (sku, on_hand, threshold)
    SELECT 'bench-' || r, r * 3, 20 FROM generate_series(1, 80) r;
    INSERT INTO giftcard_floats (provider, balance, currency, updated_at)
    VALUES ('giftco', 250000, 'EUR', now());`);
  const statuses = `(ARRAY['completed','completed','completed','completed','completed','shipped',
    'failed','cancelled','refunded','shipment_requested'])[1 + n % 10]`;
  await db.raw(
    `INSERT INTO redemptions (id, member_id, reward_id, quantity, request_hash, status, tier,
       points, reason, actor, created_at, updated_at)
     SELECT 'bench-r' || n, md5('bench' || (1 + n % ?))::uuid, 'bench-' || (1 + n % 100), 1, 'x',
       ${statuses}, 'Member', 200, CASE WHEN n % 10 = 6 THEN 'OutOfStock' END, 'bench',
       now() - make_interval(secs => (n::bigint * 15485863) % ${span}),
       now() - make_interval(secs => (n::bigint * 15485863) % ${span})
     FROM generate_series(1, ?::int) n`,
    [members, redemptions],
  );
  await db.raw(`
    INSERT INTO redemption_steps (redemption_id, seq, step, detail, at)
    SELECT r.id, s.seq, s.step, s.detail::jsonb, r.created_at + s.after
    FROM redemptions r JOIN rewards w ON w.id = r.reward_id, LATERAL (VALUES
      (1, 'points_held', '{}', interval '1 second'),
      (2, CASE WHEN r.status = 'failed' THEN 'failed' WHEN r.status = 'cancelled' THEN 'cancelled'
               WHEN w.kind = 'gift_card' THEN 'issued'
               ELSE 'shipped' END,
          CASE WHEN r.status = 'failed' THEN '{"failureType":"OutOfStock"}'
               WHEN r.status = 'cancelled' THEN '{"reason":"changed their mind"}' ELSE '{}' END,
          interval '1 hour'),
      (3, 'delivered', '{}', interval '2 days')) s(seq, step, detail, after)
    WHERE r.id LIKE 'bench-r%' AND (s.seq < 3 OR r.status IN ('completed', 'refunded'));
    INSERT INTO gift_cards (redemption_id, provider, card_id, code, denomination, currency, issued_at)
    SELECT s.redemption_id, 'giftco', 'card-' || s.redemption_id, 'code', 25, 'EUR', s.at
    FROM redemption_steps s WHERE s.step = 'issued' AND s.redemption_id LIKE 'bench-r%';
    ANALYZE;`);
}

/**
 * What the rollup trigger costs a write: the bare accrual transaction (insert one entry, move the
 * balance) and a 100-entry statement (as group commit writes), with the trigger on and off, in
 * alternating blocks so that other load on the machine falls on both alike.
 */
async function writeCost(db: Db, blocks: number, perBlock: number): Promise<void> {
  const member = await db.raw<{ rows: { id: string }[] }>(
    `SELECT id FROM members WHERE status = 'active' LIMIT 1`,
  );
  const id = member.rows[0]!.id;
  const run = `w${Date.now().toString(36)}`;
  let n = 0;
  const single = async () => {
    await db.transaction(async (trx) => {
      await trx.raw(
        `INSERT INTO ledger_entries (member_id, kind, amount, available_delta, reason, actor,
           dedupe_key, created_at) VALUES (?, 'accrual', 1, 1, 'bench', 'bench', ?, now())`,
        [id, `${run}:${n++}`],
      );
      await trx.raw('UPDATE members SET available = available + 1 WHERE id = ?', [id]);
    });
  };
  const batch = async () => {
    await db.transaction(async (trx) => {
      const start = n;
      n += 100;
      await trx.raw(
        `INSERT INTO ledger_entries (member_id, kind, amount, available_delta, reason, actor,
           dedupe_key, created_at)
         SELECT ?, 'accrual', 1, 1, 'bench', 'bench', ? || ':' || g, now()
         FROM generate_series(?::int, ?::int) g`,
        [id, run, start, start + 99],
      );
      await trx.raw('UPDATE members SET available = available + 100 WHERE id = ?', [id]);
    });
  };
  for (const [label, work, count] of [
    ['1-entry transaction', single, perBlock],
    ['100-entry statement', batch, Math.max(1, Math.round(perBlock / 10))],
  ] as const) {
    const ms = { on: [] as number[], off: [] as number[] };
    for (let b = 0; b < blocks * 2; b++) {
      const state = b % 2 === 0 ? 'on' : 'off';
      await db.raw(
        `ALTER TABLE ledger_entries ${state === 'on' ? 'ENABLE' : 'DISABLE'} TRIGGER ledger_entries_hourly`,
      );
      const started = performance.now();
      for (let i = 0; i < count; i++) await work();
      ms[state].push((performance.now() - started) / count);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    log(
      `write cost, ${label.padEnd(20)} trigger on ${mean(ms.on).toFixed(3)} ms, off ${mean(ms.off).toFixed(3)} ms (${blocks} blocks of ${count} each)`,
    );
  }
  await db.raw('ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_hourly');
}

function stats(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  return `p50 ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`;
}

async function measure(label: string, runs: number, work: () => Promise<unknown>) {
  await work(); // warm: plans, caches
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await work();
    samples.push(performance.now() - started);
  }
  log(`${label.padEnd(44)} ${stats(samples)} (${runs} runs)`);
}

async function main(): Promise<void> {
  if (args.help) {
    console.log(usage);
    return;
  }
  const members = positive('members', args.members);
  const redemptions = positive('redemptions', args.redemptions, true);
  const runs = positive('runs', args.runs);
  const supervisor = new Supervisor(path.join(os.tmpdir(), `bench-health-${process.pid}.json`));
  let url = process.env.DATABASE_URL;
  const dir = args.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bench-health-'));
  if (!url) {
    url = await startEmbeddedPostgres(supervisor, {
      root: dir,
      port: await freePort(),
      password: 'bench',
      database: 'loyalty_bench',
      fast: true,
      output: 'on-failure',
    });
    log(`embedded Postgres in ${dir}`);
  }
  const db = createDb({ url, poolMax: 10 });
  try {
    await migrateLatest(db);
    const { rows } = await db.raw<{ rows: { n: number }[] }>(
      `SELECT count(*)::int AS n FROM members WHERE external_id LIKE 'bench-%'`,
    );
    if (rows[0]!.n === 0) {
      await timed(`generated ${count(members)} members, ${count(members * 10)} entries`, () =>
        generate(db, members, redemptions),
      );
    } else log(`reusing ${count(rows[0]!.n)} members already in the database`);
    const sizes = await db.raw<{
      rows: { entries: number; members: number; redemptions: number }[];
    }>(
      `SELECT (SELECT count(*) FROM ledger_entries)::int AS entries,
         (SELECT count(*) FROM members)::int AS members,
         (SELECT count(*) FROM redemptions)::int AS redemptions`,
    );
    const size = sizes.rows[0]!;
    log(
      `${count(size.members)} members, ${count(size.entries)} ledger entries, ${count(size.redemptions)} redemptions`,
    );
    await timed('first compaction of the rollups', () => db.raw('SELECT program_health_compact()'));

    const settings: HealthSettings = {
      pointCost: { EUR: 0.01, USD: 0.01, GBP: 0.01 },
      shippingCost: { EUR: 5 },
      floatBurnDays: 7,
    };
    const now = new Date();
    const ninety = alignWindow({ from: new Date(now.getTime() - 90 * 86_400_000), to: now }, 'day');
    await measure('snapshot (30-day window)', runs, () =>
      healthSnapshot(db, settings, lastDays(new Date(), 30)),
    );
    for (const metric of [
      'points_issued',
      'points_outstanding',
      'redemptions_requested',
      'enrolments',
    ])
      await measure(`series ${metric}, 90 days by day`, runs, () =>
        healthSeries(db, metric, 'day', ninety),
      );
    const registry = new Registry();
    registerProgramMetrics(registry, {
      db,
      pointCost: settings.pointCost,
      floatBurnDays: 7,
      cacheMs: 0,
    });
    await measure('/metrics business gauges (no cache)', runs, () => registry.metrics());
    // Off, the trigger would miss these entries: the rollups are rebuilt below, before any read.
    if (args['write-blocks'] !== '0') {
      await writeCost(db, positive('write-blocks', args['write-blocks']), 200);
      await db.raw(`TRUNCATE ledger_hourly, ledger_hourly_changes;
        INSERT INTO ledger_hourly
        SELECT date_trunc('hour', created_at, 'UTC'), kind, ledger_entry_cause(kind, dedupe_key),
          count(*), sum(greatest(amount, 0)), sum(greatest(-amount, 0)), sum(available_delta),
          sum(pending_delta), sum(held_delta), sum(debt_delta)
        FROM ledger_entries GROUP BY 1, 2, 3`);
    }
  } finally {
    await db.destroy();
    await supervisor.stopAll(log);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
