/**
 * `npm run bench:ledger-scale`: the ops reads on a big ledger (issue #14: "a ledger of 10,000,000
 * entries: member read, ledger page and audit stay under 50 ms p99"), against a running stack
 * (`npm start`), whose database it fills: use a throwaway stack (LOYALTY_DATA_DIR).
 *
 *   1. imports --members members (`npm run import -- members <csv> --no-workflows`, as a user would);
 *   2. gives them --entries accrual entries in all, skewed as real programmes are (most members a
 *      few dozen, 9 % ten times that, 1 % fifty times, one in 10,000 a corporate account of 20,000),
 *      each with its lot and lot movement, and the members' balances to match: set-based SQL, a
 *      few thousand members a transaction, oldest first, spread over three years;
 *   3. times `GET /members/:id`, `GET /members/:id/ledger` (first page and a page deep in the
 *      ledger) and `GET /members/:id/audit` from --concurrency clients, for members drawn at random
 *      and for the heaviest ones, and checks that every audit says `consistent`.
 *
 * A second run finds the members (and entries) there and goes straight to step 3.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { JsonClient } from './http';
import { Latencies } from './latency';
import { apiKey, count, expectStatus, positive, stackDatabaseUrl } from './options';

const usage = `Usage: npm run bench:ledger-scale -- [options]
  --url URL             the API (default http://127.0.0.1:3000)
  --key KEY             an admin or readonly key (default: npm start's local admin key)
  --entries N           ledger entries in all (default 10000000)
  --members N           members they belong to (default 100000)
  --requests N          timed requests per read and member group (default 2000)
  --concurrency N       clients reading at once (default 4)
The members and entries stay in the database: run it on a throwaway stack.`;

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:3000' },
    key: { type: 'string' },
    entries: { type: 'string', default: '10000000' },
    members: { type: 'string', default: '100000' },
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '4' },
    help: { type: 'boolean', default: false },
  },
});

const PREFIX = 'scale-';
const TARGET_P99_MS = 50;

/** Relative weight of member `i`'s ledger: the skew of a real programme. */
const weight = (i: number): number =>
  i % 10_000 === 0 ? 0 : i % 100 === 1 ? 50 : i % 10 === 2 ? 10 : 1;
const CORPORATE = 20_000;

/** Entries per member, adding up to `entries` exactly. */
function entriesPerMember(members: number, entries: number): Int32Array {
  const out = new Int32Array(members);
  const corporate = Array.from({ length: members }, (_, i) => i).filter((i) => i % 10_000 === 0);
  let left = entries - Math.min(entries, corporate.length * CORPORATE);
  for (const i of corporate) out[i] = Math.min(CORPORATE, entries);
  let total = 0;
  for (let i = 0; i < members; i++) total += weight(i);
  const share = left / total;
  for (let i = 0; i < members; i++) {
    out[i] = out[i]! + Math.floor(weight(i) * share);
    left -= Math.floor(weight(i) * share);
  }
  for (let i = 1; left > 0; i = (i + 1) % members, left--) out[i] = out[i]! + 1;
  return out;
}

async function importMembers(members: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ledger-scale-'));
  const file = path.join(dir, 'members.csv');
  let csv = 'externalId,email,name\n';
  for (let i = 0; i < members; i++) csv += `${PREFIX}${i},${PREFIX}${i}@bench.test,Scale ${i}\n`;
  fs.writeFileSync(file, csv);
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(
      'npm',
      ['run', '--silent', 'import', '--', 'members', file, '--no-workflows'],
      {
        cwd: path.resolve(__dirname, '..'),
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    child.on('exit', resolve);
  });
  fs.rmSync(dir, { recursive: true, force: true });
  if (code !== 0) throw new Error(`npm run import exited ${code}`);
}

/** Step 2, `chunk` members a transaction; entries oldest first, so ids grow with time. */
async function fillLedger(db: pg.Client, perMember: Int32Array): Promise<void> {
  const chunk = 2_000;
  const started = performance.now();
  let done = 0;
  const total = perMember.reduce((s, n) => s + n, 0);
  for (let start = 0; start < perMember.length; start += chunk) {
    const ids = Array.from(
      { length: Math.min(chunk, perMember.length - start) },
      (_, k) => start + k,
    );
    await db.query(
      `WITH m AS (
         SELECT members.id, c.n FROM unnest($1::text[], $2::int[]) AS c(ext, n)
         JOIN members ON members.external_id = c.ext WHERE c.n > 0),
       e AS (
         INSERT INTO ledger_entries (member_id, kind, amount, available_delta, qualifying, reason,
           actor, dedupe_key, created_at)
         SELECT m.id, 'accrual', 10, 10, 10, 'purchase', 'bench:ledger-scale',
           'bench:' || m.id || ':' || g,
           now() - interval '3 years' + (g::float8 / m.n) * interval '3 years' - interval '1 hour'
         FROM m CROSS JOIN generate_series(1, m.n) AS g ORDER BY 9
         RETURNING id, member_id, amount, created_at),
       l AS (
         INSERT INTO lots (member_id, entry_id, status, original, remaining, activates_at,
           expires_at, created_at)
         SELECT member_id, id, 'active', amount, amount, created_at,
           now() + interval '400 days', created_at FROM e
         RETURNING id, entry_id, original),
       mv AS (INSERT INTO lot_movements (entry_id, lot_id, delta) SELECT entry_id, id, original FROM l)
       UPDATE members SET available = members.available + s.total, last_activity_at = s.last
       FROM (SELECT member_id, sum(amount) AS total, max(created_at) AS last FROM e GROUP BY member_id) s
       WHERE members.id = s.member_id`,
      [ids.map((i) => `${PREFIX}${i}`), ids.map((i) => perMember[i]!)],
    );
    done += ids.reduce((s, i) => s + perMember[i]!, 0);
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(
      `\r  ${count(done)} of ${count(total)} entries, ${count(Math.round(done / seconds))}/s`,
    );
  }
  process.stdout.write('\n');
  await db.query('ANALYZE ledger_entries; ANALYZE lots; ANALYZE lot_movements; ANALYZE members');
}

interface Target {
  id: string;
  /** An entry id about half-way through the member's ledger (for a deep page). */
  middle: number;
}

async function targets(db: pg.Client, heaviest: boolean, n: number): Promise<Target[]> {
  const { rows } = await db.query<{ id: string; middle: string }>(
    `SELECT m.id, (SELECT e.id FROM ledger_entries e WHERE e.member_id = m.id ORDER BY e.id
         OFFSET (SELECT count(*) / 2 FROM ledger_entries c WHERE c.member_id = m.id) LIMIT 1) AS middle
     FROM (SELECT id FROM members WHERE external_id LIKE $1
           ORDER BY ${heaviest ? 'available DESC' : 'random()'} LIMIT $2) m`,
    [`${PREFIX}%`, n],
  );
  return rows.map((r) => ({ id: r.id, middle: Number(r.middle ?? 0) }));
}

type Read = 'member' | 'ledger, first page' | 'ledger, deep page' | 'audit';
const READS: Read[] = ['member', 'ledger, first page', 'ledger, deep page', 'audit'];

const pathOf = (read: Read, t: Target): string =>
  read === 'member'
    ? `/members/${t.id}`
    : read === 'audit'
      ? `/members/${t.id}/audit`
      : `/members/${t.id}/ledger?limit=50${read === 'ledger, deep page' ? `&after=${t.middle}` : ''}`;

async function measure(
  client: JsonClient,
  read: Read,
  pool: Target[],
  requests: number,
  concurrency: number,
): Promise<{ latencies: Latencies; inconsistent: number }> {
  const latencies = new Latencies();
  let next = 0;
  let inconsistent = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        const t = pool[next++ % pool.length]!;
        const began = performance.now();
        const res = await client.request('GET', pathOf(read, t));
        latencies.add(performance.now() - began);
        expectStatus(res, 200);
        if (read === 'audit' && !(res.body as { consistent: boolean }).consistent) inconsistent++;
      }
    }),
  );
  return { latencies, inconsistent };
}

async function main(): Promise<void> {
  if (args.help) return console.log(usage);
  const entries = positive('entries', args.entries);
  const members = positive('members', args.members);
  const requests = positive('requests', args.requests);
  const concurrency = positive('concurrency', args.concurrency);
  const { url, via } = stackDatabaseUrl();
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  console.log(
    `bench:ledger-scale: ${os.cpus().length} CPUs, node ${process.version}; database via ${via}`,
  );
  try {
    const { rows } = await db.query<{ n: string }>(
      'SELECT count(*) AS n FROM members WHERE external_id LIKE $1',
      [`${PREFIX}%`],
    );
    if (Number(rows[0]!.n) === 0) {
      let began = performance.now();
      console.log(`importing ${count(members)} members...`);
      await importMembers(members);
      console.log(`  done in ${((performance.now() - began) / 1000).toFixed(1)} s`);
      began = performance.now();
      console.log(`writing ${count(entries)} entries with their lots and movements...`);
      await fillLedger(db, entriesPerMember(members, entries));
      console.log(`  done in ${((performance.now() - began) / 60_000).toFixed(1)} min`);
    } else console.log(`${count(Number(rows[0]!.n))} bench members already there: measuring`);
    const { rows: size } = await db.query<{ entries: string; bytes: string }>(
      `SELECT (SELECT count(*) FROM ledger_entries) AS entries,
         pg_total_relation_size('ledger_entries') AS bytes`,
    );
    console.log(
      `ledger: ${count(Number(size[0]!.entries))} entries, ${(Number(size[0]!.bytes) / 2 ** 30).toFixed(1)} GiB with indexes`,
    );
    const client = new JsonClient(args.url, apiKey(args.key), concurrency);
    const groups = [
      { name: 'members at random', pool: await targets(db, false, 5_000) },
      { name: 'the 100 heaviest', pool: await targets(db, true, 100) },
    ];
    const heaviest = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM ledger_entries WHERE member_id = $1`,
      [groups[1]!.pool[0]!.id],
    );
    console.log(`heaviest member: ${count(Number(heaviest.rows[0]!.n))} entries`);
    // Warm the API's connections and caches (not timed).
    await measure(client, 'member', groups[0]!.pool, 50, concurrency);
    let failed = false;
    console.log(
      `\n${'read'.padEnd(20)} ${'members'.padEnd(18)} ${'n'.padStart(6)} ${'p50'.padStart(7)} ${'p90'.padStart(7)} ${'p99'.padStart(7)} ${'max'.padStart(7)}  target`,
    );
    for (const read of READS)
      for (const group of groups) {
        const { latencies, inconsistent } = await measure(
          client,
          read,
          group.pool,
          requests,
          concurrency,
        );
        const s = latencies.summary();
        const ok = s.p99 < TARGET_P99_MS && inconsistent === 0;
        failed ||= !ok;
        console.log(
          `${read.padEnd(20)} ${group.name.padEnd(18)} ${String(s.count).padStart(6)} ${s.p50.toFixed(1).padStart(7)} ${s.p90.toFixed(1).padStart(7)} ${s.p99.toFixed(1).padStart(7)} ${s.max.toFixed(1).padStart(7)}  ${ok ? 'ok' : 'MISS'}${inconsistent ? ` (${inconsistent} audits inconsistent)` : ''}`,
        );
      }
    console.log(
      `\n(ms, measured by the client; ${concurrency} clients; target p99 < ${TARGET_P99_MS} ms)`,
    );
    process.exitCode = failed ? 1 : 0;
  } finally {
    await db.end();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(2);
});
