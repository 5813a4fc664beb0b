/** Shared steps of the ledger tests: publish a program, enrol a member, build events. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { defaultProgram, type ProgramInput } from '../../domain/program';
import { publishRuleSet } from '../../ledger/programs';
import { uniqueId, type TestContext } from './context';

/**
 * Publishes `changes` over the default program and puts it in force for everyone at once, as the
 * ledger tests need: past change control (`POST /rule-sets` makes a change request), straight
 * into the database. Returns the new version.
 */
export async function publishProgram(
  t: TestContext,
  changes: Partial<ProgramInput> = {},
): Promise<number> {
  const row = await publishRuleSet(
    t.db,
    { ...defaultProgram, ...changes },
    { createdBy: 'admin:test', description: 'test program' },
  );
  return row.version;
}

export async function enrol(t: TestContext): Promise<string> {
  const res = await t.api('POST', '/members', { body: { externalId: uniqueId('m') } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.id as string;
}

export interface LineInput {
  sku: string;
  category?: string;
  quantity?: number;
  amount: number;
}

export function purchase(
  memberId: string,
  lines: LineInput[],
  extra: Record<string, unknown> = {},
) {
  const full = lines.map((l) => ({
    sku: l.sku,
    category: l.category ?? 'general',
    quantity: l.quantity ?? 1,
    amount: l.amount,
  }));
  return {
    type: 'purchase',
    eventId: `evt-${randomUUID()}`,
    memberId,
    orderId: `ord-${randomUUID()}`,
    amount: full.reduce((sum, l) => sum + Math.round(l.amount * 100), 0) / 100,
    currency: 'EUR',
    channel: 'web',
    country: 'DE',
    lines: full,
    ...extra,
  };
}

export async function post(t: TestContext, body: unknown, key = t.keys.partner) {
  return t.api('POST', '/events', { body, key });
}

export async function balanceOf(t: TestContext, memberId: string) {
  const res = await t.api('GET', `/members/${memberId}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.balance as { available: number; pending: number; held: number; debt: number };
}

export async function assertConsistent(t: TestContext, memberId: string): Promise<void> {
  const res = await t.api('GET', `/members/${memberId}/audit`);
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.problems, []);
  assert.equal(res.body.consistent, true);
}

/** A program without pending period and with generous caps: points are available at once. */
export const instantProgram: Partial<ProgramInput> = {
  earning: {
    ...defaultProgram.earning,
    pendingPeriod: undefined,
    caps: { all: {}, byEventType: {} },
  },
};
