/**
 * What the readiness tests stand on: a database of their own on the test server (the readiness
 * checks and guard figures read the whole programme: stock, floats, webhooks, every member), a
 * Prometheus HTTP API answering as a real one would, and the guard figures recomputed in plain
 * loops over the raw rows, with the cohort decided by the JS hash, not the SQL function.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Client as PgClient } from 'pg';
import { loadConfig } from '../../config';
import type { Figures } from '../../domain/guard';
import { createDb, migrateLatest, type Db } from '../../infra/db';
import { cohortBucket } from '../../ledger/releases';

/** A new database on the test server, migrated; `drop` removes it. */
export async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const serverUrl = loadConfig().DATABASE_URL;
  const name = `readiness_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = new PgClient({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = createDb({ url: url.toString(), poolMax: 1 });
  await migrateLatest(db).finally(() => db.destroy());
  return {
    url: url.toString(),
    drop: async () => {
      const client = new PgClient({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export interface PrometheusStub {
  url: string;
  /** What `/api/v1/alerts` lists. */
  alerts: { labels: Record<string, string>; annotations?: Record<string, string>; state: string }[];
  /** Values `/api/v1/query` answers, by a substring of the query. */
  values: Record<string, number>;
  queries: string[];
  close: () => Promise<void>;
}

/** Prometheus' HTTP API (the two endpoints the checks use), in its documented JSON shape. */
export async function startPrometheus(): Promise<PrometheusStub> {
  const stub = { alerts: [], values: {}, queries: [] } as Omit<PrometheusStub, 'url' | 'close'>;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (data: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'success', data }));
    };
    if (url.pathname === '/api/v1/alerts') return send({ alerts: stub.alerts });
    if (url.pathname === '/api/v1/query') {
      const query = url.searchParams.get('query') ?? '';
      stub.queries.push(query);
      const hit = Object.entries(stub.values).find(([part]) => query.includes(part));
      return send({
        resultType: 'vector',
        result: hit ? [{ metric: {}, value: [Date.now() / 1000, String(hit[1])] }] : [],
      });
    }
    res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return Object.assign(stub, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  });
}

const emptyFigures = (): Figures => ({
  members: 0,
  activeMembers: 0,
  accrualErrors: 0,
  redemptions: 0,
  redemptionFailures: 0,
  redemptionFailureRate: 0,
  pointsIssued: 0,
  pointsPerActiveMember: 0,
  liabilityGrowth: 0,
  anomalyAlerts: 0,
  manualAdjustments: 0,
});

/** The guard figures, from every raw row, one loop per table. */
export async function recomputeGuards(
  db: Db,
  input: {
    launchId: string;
    percent: number;
    named: string[];
    since: Date;
    baselineFrom: Date;
    at: Date;
    versions: { cohort: number; rest: number };
  },
): Promise<{ cohort: Figures; rest: Figures; baseline: Figures }> {
  const listed = await db('release_cohort_members')
    .where({ launch_id: input.launchId })
    .pluck('member_id');
  const named = new Set([...input.named, ...listed]);
  const members = await db('members').select('id', 'enrolled_at');
  const inCohort = new Map<string, boolean>();
  for (const m of members as { id: string; enrolled_at: Date }[]) {
    const cohort = cohortBucket(input.launchId, m.id) < input.percent * 100 || named.has(m.id);
    if (m.enrolled_at < input.at) inCohort.set(m.id, cohort);
  }
  const out = { cohort: emptyFigures(), rest: emptyFigures(), baseline: emptyFigures() };
  /** Which figures a row of `memberId` at `at` adds to: now (cohort or rest), or the baseline. */
  const groupOf = (memberId: string, at: Date): Figures | null => {
    const cohort = inCohort.get(memberId);
    if (cohort === undefined) return null;
    if (at >= input.since && at < input.at) return cohort ? out.cohort : out.rest;
    if (cohort && at >= input.baselineFrom && at < input.since) return out.baseline;
    return null;
  };
  for (const m of members as { id: string; enrolled_at: Date }[]) {
    const cohort = inCohort.get(m.id);
    if (cohort === undefined) continue;
    (cohort ? out.cohort : out.rest).members += 1;
    if (cohort && m.enrolled_at < input.since) out.baseline.members += 1;
  }
  const active = new Map<Figures, Set<string>>();
  const events = await db('ledger_events').select(
    'member_id',
    'type',
    'rule_version',
    'created_at',
  );
  for (const e of events as {
    member_id: string;
    type: string;
    rule_version: number;
    created_at: Date;
  }[]) {
    const g = groupOf(e.member_id, e.created_at);
    if (!g) continue;
    active.set(g, (active.get(g) ?? new Set()).add(e.member_id));
    const expected = g === out.cohort ? input.versions.cohort : input.versions.rest;
    if (g !== out.baseline && e.type !== 'return' && e.rule_version !== expected)
      g.accrualErrors += 1;
  }
  for (const [g, ids] of active) g.activeMembers = ids.size;
  const entries = await db('ledger_entries').select(
    'member_id',
    'kind',
    'amount',
    'dedupe_key',
    'created_at',
  );
  for (const e of entries as {
    member_id: string;
    kind: string;
    amount: number;
    dedupe_key: string;
    created_at: Date;
  }[]) {
    const g = groupOf(e.member_id, e.created_at);
    if (!g) continue;
    g.liabilityGrowth += e.amount;
    if (e.kind === 'accrual') g.pointsIssued += e.amount;
    const automatic = ['adjustment:sla:', 'adjustment:refund:'].some((p) =>
      e.dedupe_key.startsWith(p),
    );
    if (e.kind === 'adjustment' && !automatic) g.manualAdjustments += 1;
  }
  const redemptions = await db('redemptions').select('member_id', 'status', 'created_at');
  for (const r of redemptions as { member_id: string; status: string; created_at: Date }[]) {
    const g = groupOf(r.member_id, r.created_at);
    if (!g) continue;
    g.redemptions += 1;
    if (r.status === 'failed') g.redemptionFailures += 1;
  }
  for (const g of Object.values(out)) {
    g.redemptionFailureRate = g.redemptions ? g.redemptionFailures / g.redemptions : 0;
    g.pointsPerActiveMember = g.activeMembers ? g.pointsIssued / g.activeMembers : 0;
  }
  return out;
}
