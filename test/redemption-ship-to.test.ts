/**
 * A redemption's shipping address (`shipTo`) screened by the anomaly detectors, on the real stack:
 * a third member shipping to one address (however it is spelt) is held for review with the
 * linked-accounts reason; a member whose events all came from one country shipping to another is
 * held with the unusual-country reason; a bad `shipTo` is a 422 naming the field; the same request
 * again is the same redemption, another `shipTo` under its id a 409.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ProgramInput } from '../domain/program';
import { startTestContext, type TestContext } from './support/context';
import { post, publishProgram } from './support/ledger';
import {
  createReward,
  memberWithPoints,
  redeem,
  redemptionProgram,
  waitForStatus,
} from './support/redemptions';

let t: TestContext;

const sources = (view: {
  timeline: { step: string; detail: { reasons: { source: string }[] } }[];
}) => view.timeline.find((s) => s.step === 'in_review')?.detail.reasons.map((r) => r.source) ?? [];

describe('redemptions screened by where they ship', () => {
  let inForce: ProgramInput;
  let sku: string;

  before(async () => {
    t = await startTestContext('redemption-ship-to', {}, { partners: {} });
    inForce = (await t.api('GET', '/rule-sets/active')).body.program as ProgramInput;
    await publishProgram(t, {
      ...redemptionProgram,
      detection: {
        linkedAccounts: { maxMembersPerAddress: 2 },
        unusualCountry: { minHistory: 2, maxShare: 0 },
      },
    });
    sku = await createReward(t, { pointsCost: 100, onHand: 20 });
  });
  after(async () => {
    await publishProgram(t, inForce);
    await t.stop();
  });

  it('a third member shipping to one address is held with the linked-accounts reason', async () => {
    const street = `${Math.floor(Math.random() * 1e6)} Rue de la Paix`;
    const spellings = [street, `  ${street.toUpperCase()}, `, `${street.replace('Rue', 'rue')}.`];
    const ids: string[] = [];
    for (const address of spellings) {
      const member = await memberWithPoints(t, 500);
      const res = await redeem(t, {
        memberId: member,
        rewardId: sku,
        shipTo: { country: 'FR', address },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      ids.push(res.body.redemptionId as string);
    }
    await waitForStatus(t, ids[0]!, 'completed');
    await waitForStatus(t, ids[1]!, 'completed');
    const held = await waitForStatus(t, ids[2]!, 'in_review');
    assert.deepEqual(sources(held), ['anomaly.linkedAccounts']);
    const [finding] = await t
      .db('anomaly_findings')
      .where({ subject: `redemption:${ids[2]}` })
      .select<{ seen: Record<string, unknown> }[]>('seen');
    assert.equal(finding!.seen.members, 3);
    assert.equal(finding!.seen.kind, 'address');
  });

  it('shipping to a country the member never acted from is held; their own is not', async () => {
    const member = await memberWithPoints(t, 1000);
    for (let i = 0; i < 2; i++) {
      const res = await post(t, {
        type: 'referral',
        eventId: `evt-${randomUUID()}`,
        memberId: member,
        reference: 'friend',
        country: 'DE',
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    const home = await redeem(t, {
      memberId: member,
      rewardId: sku,
      shipTo: { country: 'DE', address: `${randomUUID()} Unter den Linden` },
    });
    assert.equal(home.status, 201, JSON.stringify(home.body));
    await waitForStatus(t, home.body.redemptionId as string, 'completed');
    const away = await redeem(t, {
      memberId: member,
      rewardId: sku,
      shipTo: { country: 'BR', address: `${randomUUID()} Avenida Paulista` },
    });
    assert.equal(away.status, 201, JSON.stringify(away.body));
    const held = await waitForStatus(t, away.body.redemptionId as string, 'in_review');
    assert.deepEqual(sources(held), ['anomaly.unusualCountry']);
  });

  it('a bad shipTo is a 422 naming the field; another shipTo under the same id is a 409', async () => {
    const member = await memberWithPoints(t, 500);
    for (const [shipTo, field] of [
      [{ country: 'France', address: '1 Rue de la Paix' }, 'shipTo.country'],
      [{ country: 'FR', address: 'x' }, 'shipTo.address'],
      [{ country: 'FR' }, 'shipTo.address'],
    ] as const) {
      const res = await redeem(t, { memberId: member, rewardId: sku, shipTo });
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.deepEqual(
        res.body.errors.map((e: { field: string }) => e.field),
        [field],
      );
    }
    const redemptionId = randomUUID();
    const shipTo = { country: 'FR', address: `${randomUUID()} Quai d'Orsay` };
    const first = await redeem(t, { redemptionId, memberId: member, rewardId: sku, shipTo });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const again = await redeem(t, { redemptionId, memberId: member, rewardId: sku, shipTo });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    const other = await redeem(t, {
      redemptionId,
      memberId: member,
      rewardId: sku,
      shipTo: { ...shipTo, address: `${randomUUID()} Quai Branly` },
    });
    assert.equal(other.status, 409, JSON.stringify(other.body));
    const rows = await t.db('redemptions').where({ id: redemptionId });
    assert.equal(rows.length, 1);
    assert.deepEqual(rows[0].ship_to, shipTo);
  });
});
