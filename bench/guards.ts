/**
 * `npm run bench:guards`: how long a launch's guard figures take on a big programme (the launch
 * measures them every `monitoring.every` of its window).
 *
 *   1. starts a throwaway embedded Postgres (or uses DATABASE_URL, which must name an empty
 *      database it may fill), runs the migrations;
 *   2. generates --members members, three earning events and five ledger entries each and one
 *      redemption per five members (one in twenty failed), spread over the last ten days, in
 *      Postgres (generate_series), through the schema's constraints and triggers;
 *   3. opens a cohort (--percent by hash, plus 100 named members) and times `measureGuards` for
 *      a 48-hour window (and its 48-hour baseline), --runs times; prints p50 and p95.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { measureGuards } from '../changes/guard-metrics';
import { createDb, migrateLatest, type Db } from '../infra/db';
import { startEmbeddedPostgres } from '../stack/services';
import { Supervisor } from '../stack/supervisor';
import { freePort } from '../stack/ports';
import { count, positive } from './options';

const usage = `Usage: npm run bench:guards -- [options]
  --members N   members (default 200000); three events, five entries each
  --percent P   the cohort's share by hash, 0-100 (default 5)
  --runs N      timed runs (default 10)
  --write-blocks N  blocks of 5,000 ledger INSERTs timed with the BRIN index on created_at and
                as many without it (default 3; 0: skip)
  --dir DIR     keep the embedded Postgres here; a second run reuses its data
Set DATABASE_URL to use an empty database of your own instead of an embedded Postgres.`;

const { values: args } = parseArgs({
  options: {
    members: { type: 'string', default: '200000' },
    percent: { type: 'string', default: '5' },
    runs: { type: 'string', default: '10' },
    'write-blocks': { type: 'string', default: '3' },
    dir: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

const log = (message: string) => console.log(`[bench:guards] ${message}`);
const tenDays = 10 * 86_400;

/** Members in chunks; their events, entries and redemptions in time order, as a programme writes them. */
async function generate(db: Db, members: number): Promise<void> {
  for (let from = 1; from <= members; from += 100_000) {
    await db.raw(
      `INSERT INTO members (id, external_id, status, tier, enrolled_at, updated_at, available)
       SELECT md5('guard' || i)::uuid, 'guard-' || i, 'active', 'Member',
         now() - interval '30 days', now(), 3 * (100 + i % 50) + 20
       FROM generate_series(?::int, ?::int) i`,
      [from, Math.min(members, from + 99_999)],
    );
  }
  log(`${count(members)} members`);
  const at = `now() - make_interval(secs => ((i::bigint * 7919 + k * 104729) % ${tenDays}) + 1)`;
  await db.raw(
    `INSERT INTO ledger_events (id, member_id, type, order_id, request_hash, payload, response,
       rule_version, occurred_at, created_at)
     SELECT 'guard-e' || i || ':' || k, md5('guard' || i)::uuid, 'purchase',
       'guard-o' || i || ':' || k, 'x', '{}', '{}', 1, ${at}, ${at}
     FROM generate_series(1, ?::int) i, generate_series(0, 2) k ORDER BY 10`,
    [members],
  );
  log(`${count(members * 3)} events`);
  await db.raw(
    `INSERT INTO ledger_entries (member_id, kind, amount, available_delta, reason, actor,
       dedupe_key, source_event_id, created_at)
     SELECT md5('guard' || i)::uuid, CASE WHEN k < 3 THEN 'accrual' ELSE 'adjustment' END,
       CASE WHEN k < 3 THEN 100 + i % 50 WHEN k = 3 THEN 30 ELSE -10 END,
       CASE WHEN k < 3 THEN 100 + i % 50 WHEN k = 3 THEN 30 ELSE -10 END, 'bench', 'bench',
       CASE WHEN k < 3 THEN 'accrual:' ELSE 'adjustment:' END || 'guard:' || i || ':' || k,
       CASE WHEN k < 3 THEN 'guard-e' || i || ':' || k END, ${at}
     FROM generate_series(1, ?::int) i, generate_series(0, 4) k ORDER BY 9`,
    [members],
  );
  log(`${count(members * 5)} ledger entries`);
  await db.raw(
    `INSERT INTO redemptions (id, member_id, reward_id, quantity, request_hash, status, actor,
       created_at, updated_at)
     SELECT 'guard-r' || i, md5('guard' || i)::uuid, 'guard-reward', 1, 'x',
       CASE WHEN i % 100 = 0 THEN 'failed' ELSE 'completed' END, 'bench',
       now() - make_interval(secs => ((i::bigint * 7919) % ${tenDays}) + 1), now()
     FROM generate_series(1, ?::int) i WHERE i % 5 = 0 ORDER BY 8`,
    [members],
  );
  log(`${count(Math.floor(members / 5))} redemptions`);
}

/**
 * What the BRIN index costs a writer: single-row ledger INSERTs in a plpgsql loop (no client
 * round trips), blocks with the index and without it, alternating.
 */
async function writeCost(db: Db, blocks: number, perBlock = 5000): Promise<void> {
  await db.raw(`
    CREATE OR REPLACE FUNCTION bench_guard_inserts(n int, tag text) RETURNS float8
    LANGUAGE plpgsql AS $$
    DECLARE started timestamptz := clock_timestamp(); m uuid;
    BEGIN
      SELECT id INTO m FROM members LIMIT 1;
      FOR i IN 1..n LOOP
        INSERT INTO ledger_entries (member_id, kind, amount, available_delta, reason, actor,
          dedupe_key, created_at)
        VALUES (m, 'accrual', 1, 1, 'bench', 'bench', tag || ':' || i, clock_timestamp());
      END LOOP;
      UPDATE members SET available = available + n WHERE id = m;
      RETURN extract(epoch FROM clock_timestamp() - started) * 1e6 / n;
    END $$`);
  const run = `w${Date.now().toString(36)}`;
  const us = { with: [] as number[], without: [] as number[] };
  for (let b = 0; b < blocks * 2; b++) {
    const state = b % 2 === 0 ? 'with' : 'without';
    if (state === 'without') await db.raw('DROP INDEX ledger_entries_created_brin');
    const { rows } = await db.raw<{ rows: { us: number }[] }>(
      'SELECT bench_guard_inserts(?, ?) AS us',
      [perBlock, `${run}:${b}`],
    );
    us[state].push(rows[0]!.us);
    if (state === 'without') {
      await db.raw(
        'CREATE INDEX ledger_entries_created_brin ON ledger_entries USING brin (created_at)',
      );
    }
  }
  await db.raw('DROP FUNCTION bench_guard_inserts(int, text)');
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  log(
    `per ledger INSERT: with the BRIN index ${median(us.with).toFixed(1)} µs, without ${median(us.without).toFixed(1)} µs (medians of ${blocks} blocks of ${perBlock}: ${us.with.map((w, i) => `${w.toFixed(0)}/${us.without[i]!.toFixed(0)}`).join(', ')})`,
  );
}

function stats(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  return `p50 ${at(0.5).toFixed(0)} ms, p95 ${at(0.95).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`;
}

async function main(): Promise<void> {
  if (args.help) return void console.log(usage);
  const members = positive('members', args.members);
  const percent = positive('percent', args.percent, true);
  const runs = positive('runs', args.runs);
  let url = process.env.DATABASE_URL;
  const dir = args.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bench-guards-'));
  const supervisor = new Supervisor(path.join(dir, 'bench.pids.json'));
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
  const db = createDb({ url, poolMax: 4 });
  try {
    await migrateLatest(db);
    const { rows } = await db.raw<{ rows: { n: number }[] }>(
      `SELECT count(*)::int AS n FROM members WHERE external_id LIKE 'guard-%'`,
    );
    if (rows[0]!.n === 0) {
      const started = performance.now();
      await generate(db, members);
      log(`generated in ${((performance.now() - started) / 1000).toFixed(0)} s`);
      await db.raw('VACUUM ANALYZE');
    } else log(`reusing ${count(rows[0]!.n)} members already in the database`);

    const launchId = 'bench-launch';
    const named = await db('members').orderBy('id').limit(100).pluck('id');
    await db.transaction(async (trx) => {
      await trx('release_cohort_members').where({ launch_id: launchId }).delete();
      await trx('program_release').where({ id: 1 }).update({
        cohort_version: 1,
        cohort_launch_id: launchId,
        cohort_percent: percent,
      });
      await trx('release_cohort_members').insert(
        named.map((member_id: string) => ({ launch_id: launchId, member_id })),
      );
    });
    const now = Date.now();
    const input = {
      launchId,
      cohort: { percent, members: named },
      since: new Date(now - 48 * 3_600_000).toISOString(),
      at: new Date(now).toISOString(),
      expectedPerActiveMember: 300,
    };
    const first = await measureGuards({ db }, input); // warm: plans, caches
    log(
      `cohort ${count(first.cohort.members)} members (${count(first.cohort.activeMembers)} active), ` +
        `rest ${count(first.rest.members)}; window 48 h, baseline 48 h`,
    );
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await measureGuards({ db }, input);
      samples.push(performance.now() - started);
    }
    log(`measureGuards (cohort ${percent}% + 100 named): ${stats(samples)} (${runs} runs)`);
    await db('program_release').where({ id: 1 }).update({
      cohort_version: null,
      cohort_launch_id: null,
      cohort_percent: 0,
    });
    const blocks = positive('write-blocks', args['write-blocks'], true);
    if (blocks > 0) await writeCost(db, blocks);
  } finally {
    await db.destroy();
    await supervisor.stopAll(log);
    if (!args.dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
