/** Shared steps of the redemption tests: rewards, members with points, and waiting on outcomes. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { defaultProgram, type ProgramInput } from '../../domain/program';
import type { RedemptionStatus } from '../../domain/redemption';
import { eventually, uniqueId, type ApiResponse, type TestContext } from './context';
import { enrol } from './ledger';

/** Deliveries in milliseconds, an SLA of seconds, lost after 8, partner calls tried 3 times. */
export const redemptionProgram: ProgramInput = {
  ...defaultProgram,
  earning: {
    ...defaultProgram.earning,
    pointsPerUnit: { EUR: 1 },
    pendingPeriod: undefined,
    caps: { all: {}, byEventType: {} },
  },
  tiers: [
    { name: 'Member', qualifyingPoints: 0, benefits: { serviceRecoveryCredit: 100 } },
    {
      name: 'Gold',
      qualifyingPoints: 1000,
      benefits: { fulfilmentPriority: 5, fasterReturns: true },
    },
  ],
  redemption: {
    deliverySla: '3 seconds',
    lostAfter: '8 seconds',
    partnerAttempts: 3,
    partnerMaxInterval: '1 second',
    backorderCheckEvery: '1 second',
    backorderFor: '1 minute',
    returnWindow: '1 hour',
    returnRefundAfter: '4 seconds',
    fastReturnRefundAfter: '1 second',
  },
};

export interface RewardInput {
  kind?: 'physical' | 'gift_card' | 'coupon';
  pointsCost?: number;
  cashValue?: number;
  category?: string;
  campaign?: string;
  onHand?: number;
  threshold?: number;
  tiersAllowed?: string[];
  denomination?: number;
  codes?: string[];
  substitution?: Record<string, unknown>;
}

/** Creates a reward through the API (with its stock or codes) and returns its id. */
export async function createReward(t: TestContext, input: RewardInput = {}): Promise<string> {
  const kind = input.kind ?? 'physical';
  const id = uniqueId(kind === 'physical' ? 'sku' : kind);
  const res = await t.api('POST', '/rewards', {
    body: {
      id,
      kind,
      name: `Test ${kind}`,
      category: input.category ?? 'audio',
      currency: 'EUR',
      pointsCost: input.pointsCost ?? 100,
      cashValue: input.cashValue ?? 20,
      ...(input.tiersAllowed ? { tiersAllowed: input.tiersAllowed } : {}),
      ...(input.campaign ? { campaign: input.campaign } : {}),
      ...(input.substitution ? { substitution: input.substitution } : {}),
      ...(kind === 'physical'
        ? { inventory: { onHand: input.onHand ?? 10, threshold: input.threshold ?? 0 } }
        : {}),
      ...(kind === 'gift_card'
        ? { provider: 'giftco', denomination: input.denomination ?? 25 }
        : {}),
    },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  if (kind === 'coupon') {
    const codes = input.codes ?? [`C-${randomUUID()}`];
    const imported = await t.api('POST', `/rewards/${id}/coupons`, { body: { codes } });
    assert.equal(imported.status, 200, JSON.stringify(imported.body));
  }
  return id;
}

/** A fresh member with `points` available (an ops adjustment). */
export async function memberWithPoints(t: TestContext, points: number): Promise<string> {
  const memberId = await enrol(t);
  const res = await t.api('POST', `/members/${memberId}/adjustments`, {
    body: { points, reason: 'test balance' },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return memberId;
}

export async function redeem(
  t: TestContext,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  return t.api('POST', '/redemptions', { key: t.keys.ops, body, headers });
}

/** Waits until the redemption's live status is `status` and returns the whole view. */
export async function waitForStatus(
  t: TestContext,
  redemptionId: string,
  status: RedemptionStatus,
  timeoutMs = 30_000,
): Promise<ApiResponse['body']> {
  let last: ApiResponse | undefined;
  try {
    await eventually(
      `redemption ${redemptionId} to be ${status}`,
      async () => {
        last = await t.api('GET', `/redemptions/${redemptionId}`);
        return last.status === 200 && last.body.status === status ? true : undefined;
      },
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last?.body)}`);
  }
  return last!.body;
}

export async function inventoryOf(t: TestContext, sku: string) {
  const res = await t.api('GET', `/inventory/${sku}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as { onHand: number; reserved: number; available: number };
}

export const steps = (view: { timeline: { step: string }[] }): string[] =>
  view.timeline.map((s) => s.step);

/** The program events about one redemption, in order. */
export const programEvents = (t: TestContext, redemptionId: string): Promise<string[]> =>
  t
    .db<{ type: string }>('program_events')
    .whereRaw(`payload->>'redemptionId' = ?`, [redemptionId])
    .orderBy('id')
    .pluck('type');

/** A physical redemption of a new reward, waiting for the warehouse that has accepted its shipment. */
export async function awaitingShipment(t: TestContext, pointsCost: number, onHand: number) {
  const sku = await createReward(t, { pointsCost, onHand });
  const memberId = await memberWithPoints(t, 1000);
  const res = await redeem(t, { memberId, rewardId: sku });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const id = res.body.redemptionId as string;
  await waitForStatus(t, id, 'shipment_requested');
  await eventually('the warehouse to accept', () =>
    Promise.resolve(t.partners!.warehouse.list().some((s) => s.shipmentId === id) || undefined),
  );
  return { sku, memberId, id };
}

/** The steps of a physical redemption that went all the way. */
export const deliveredSteps = [
  'points_held',
  'stock_reserved',
  'shipment_requested',
  'shipped',
  'delivered',
  'completed',
];

/** The warehouse ships, then delivers, a redemption awaiting it; returns the completed view. */
export async function shipAndDeliver(t: TestContext, id: string): Promise<ApiResponse['body']> {
  t.partners!.warehouse.ship(id);
  await waitForStatus(t, id, 'shipped');
  t.partners!.warehouse.deliver(id);
  return waitForStatus(t, id, 'completed');
}
