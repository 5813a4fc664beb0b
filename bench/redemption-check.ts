/**
 * After the redemption load: waits until every redemption of the run has ended, then checks that
 * every ledger and stock figure is exact, through the API and the warehouse simulator:
 * each member's balance is what was granted less the cost of its completed redemptions (nothing
 * held) and its audit is consistent; the reward's stock went down by exactly the redemptions
 * completed (nothing reserved); the warehouse has one delivered shipment per completed redemption.
 */
import type { JsonClient } from './http';
import { inParallel } from './load';
import { expectStatus, sleep } from './options';

export interface RedemptionRun {
  rewardId: string;
  pointsCost: number;
  initialStock: number;
  /** Points granted to each member before the load. */
  granted: Map<string, number>;
  /** Redemptions the API accepted (201), by id: their member. */
  started: Map<string, string>;
  /** Points the API told clients each member earned since (accruals; the chaos run). */
  earned?: Map<string, number>;
  /** Redemptions may end failed or cancelled, not only completed (the chaos run). */
  endedIsEnough?: boolean;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface CheckResult {
  /** Redemptions of the run's members, by final status. */
  statuses: Map<string, number>;
  completed: number;
  /** Why the others failed, with counts. */
  reasons: Map<string, number>;
  checks: Check[];
  seconds: number;
}

interface Listed {
  redemptionId: string;
  memberId: string;
  rewardId: string;
  status: string;
  reason: string | null;
}
interface Balance {
  available: number;
  pending: number;
  held: number;
  debt: number;
}
interface Audit {
  consistent: boolean;
  problems: string[];
  stored: Balance;
  fromLedger: Balance & { total: number };
}
interface Shipment {
  shipmentId: string;
  sku: string;
  status: string;
}

const ended = new Set(['completed', 'failed', 'cancelled', 'lost', 'returned', 'refunded']);

/** Every redemption of the member, from Postgres (the list does not ask the workflows). */
async function redemptionsOf(http: JsonClient, memberId: string): Promise<Listed[]> {
  const all: Listed[] = [];
  for (let after: string | null = null; ;) {
    const query = `memberId=${memberId}&limit=500${after ? `&after=${encodeURIComponent(after)}` : ''}`;
    const res = await http.request('GET', `/redemptions?${query}`);
    expectStatus(res, 200);
    const page = res.body as { redemptions: Listed[]; next: string | null };
    all.push(...page.redemptions);
    if (!page.next) return all;
    after = page.next;
  }
}

async function listRun(http: JsonClient, run: RedemptionRun): Promise<Listed[]> {
  const lists = await inParallel([...run.granted.keys()], 16, (id) => redemptionsOf(http, id));
  return lists.flat().filter((r) => r.rewardId === run.rewardId);
}

/** The run's redemptions once none is still in progress (or after `timeoutMs`). */
async function settled(http: JsonClient, run: RedemptionRun, timeoutMs: number) {
  const started = Date.now();
  for (;;) {
    const listed = await listRun(http, run);
    const open = listed.filter((r) => !ended.has(r.status));
    if (open.length === 0 || Date.now() - started > timeoutMs) return { listed, open };
    await sleep(2000);
  }
}

const sample = (items: string[]): string =>
  items.slice(0, 3).join('; ') + (items.length > 3 ? `; ... (${items.length} in all)` : '');

export async function checkRun(
  http: JsonClient,
  warehouse: JsonClient,
  run: RedemptionRun,
  timeoutMs = 120_000,
): Promise<CheckResult> {
  const begun = Date.now();
  const { listed, open } = await settled(http, run, timeoutMs);
  const statuses = new Map<string, number>();
  const reasons = new Map<string, number>();
  const completedBy = new Map<string, number>();
  for (const r of listed) {
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    if (r.status === 'completed')
      completedBy.set(r.memberId, (completedBy.get(r.memberId) ?? 0) + 1);
    else if (r.reason) reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
  }
  const completed = statuses.get('completed') ?? 0;
  const checks: Check[] = [];

  const unknown = listed.filter((r) => !run.started.has(r.redemptionId)).length;
  const listedIds = new Set(listed.map((r) => r.redemptionId));
  const missing = [...run.started.keys()].filter((id) => !listedIds.has(id)).length;
  const notCompleted = run.endedIsEnough ? open.length : listed.length - completed;
  checks.push({
    name: run.endedIsEnough ? 'every redemption ended' : 'every redemption completed',
    ok: notCompleted === 0 && unknown === 0 && missing === 0 && listed.length > 0,
    detail:
      `${completed} of ${listed.length} completed` +
      (open.length ? `, ${open.length} still in progress after ${timeoutMs / 1000} s` : '') +
      (unknown ? `, ${unknown} not started by this bench` : '') +
      (missing ? `, ${missing} accepted but not listed` : ''),
  });

  const wrong: string[] = [];
  await inParallel([...run.granted], 16, async ([memberId, granted]) => {
    const expected =
      granted +
      (run.earned?.get(memberId) ?? 0) -
      run.pointsCost * (completedBy.get(memberId) ?? 0);
    const member = await http.request('GET', `/members/${memberId}`);
    expectStatus(member, 200);
    const b = (member.body as { balance: Balance }).balance;
    if (b.available !== expected || b.held || b.pending || b.debt)
      wrong.push(`${memberId}: expected ${expected} available, got ${JSON.stringify(b)}`);
    const audit = await http.request('GET', `/members/${memberId}/audit`);
    expectStatus(audit, 200);
    const a = audit.body as Audit;
    if (!a.consistent) wrong.push(`${memberId}: audit: ${a.problems.join('; ')}`);
    else if (a.fromLedger.available !== expected || a.fromLedger.held !== 0)
      wrong.push(
        `${memberId}: ledger says ${a.fromLedger.available} available, expected ${expected}`,
      );
  });
  checks.push({
    name: 'balances exact, audits ok',
    ok: wrong.length === 0,
    detail: wrong.length
      ? `${wrong.length} wrong: ${sample(wrong)}`
      : `${run.granted.size} members: granted${run.earned ? ' + earned as answered' : ''} - ${run.pointsCost} x completed, 0 held, audits consistent`,
  });

  const stock = await http.request('GET', `/inventory/${encodeURIComponent(run.rewardId)}`);
  expectStatus(stock, 200);
  const { onHand, reserved } = stock.body as { onHand: number; reserved: number };
  const expectedOnHand = run.initialStock - completed;
  checks.push({
    name: 'stock exact',
    ok: onHand === expectedOnHand && reserved === 0,
    detail: `onHand ${onHand} (expected ${run.initialStock} - ${completed} = ${expectedOnHand}), reserved ${reserved}`,
  });

  checks.push(await checkShipments(warehouse, run, listed));
  return { statuses, completed, reasons, checks, seconds: (Date.now() - begun) / 1000 };
}

/** One delivered shipment per completed redemption, none (or a cancelled one) for the others. */
async function checkShipments(
  warehouse: JsonClient,
  run: RedemptionRun,
  listed: Listed[],
): Promise<Check> {
  const res = await warehouse.request('GET', '/shipments');
  expectStatus(res, 200);
  const shipments = (res.body as { shipments: Shipment[] }).shipments.filter(
    (s) => s.sku === run.rewardId,
  );
  const byId = new Map<string, Shipment[]>();
  for (const s of shipments) byId.set(s.shipmentId, [...(byId.get(s.shipmentId) ?? []), s]);
  const problems: string[] = [];
  for (const r of listed) {
    const found = byId.get(r.redemptionId) ?? [];
    byId.delete(r.redemptionId);
    if (r.status === 'completed') {
      if (found.length !== 1) problems.push(`${r.redemptionId}: ${found.length} shipments`);
      else if (found[0]!.status !== 'delivered')
        problems.push(`${r.redemptionId}: shipment ${found[0]!.status}`);
    } else if (found.some((s) => s.status !== 'cancelled')) {
      problems.push(`${r.redemptionId} (${r.status}): shipment ${found[0]!.status}`);
    }
  }
  for (const id of byId.keys()) problems.push(`${id}: shipment without a redemption`);
  const completed = listed.filter((r) => r.status === 'completed').length;
  return {
    name: 'one shipment per redemption',
    ok: problems.length === 0,
    detail: problems.length
      ? `${problems.length} wrong: ${sample(problems)}`
      : `${shipments.length} shipments of ${run.rewardId} for ${completed} completed, all delivered`,
  };
}
