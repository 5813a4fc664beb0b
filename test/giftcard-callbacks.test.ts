/**
 * Gift-card status callbacks (`POST /callbacks/giftcards`): the provider simulator's own signed
 * callbacks record a card's status; forged, stale (past or future), replayed and concurrent
 * duplicate callbacks change nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generateSecret, signatureHeaders } from '../infra/webhook-signature';
import { eventually, startTestContext, type TestContext } from './support/context';
import { publishProgram } from './support/ledger';
import {
  createReward,
  memberWithPoints,
  redeem,
  redemptionProgram,
  waitForStatus,
} from './support/redemptions';

interface CardRow {
  card_id: string;
  status: string;
  status_at: Date | null;
}

describe('gift-card status callbacks', () => {
  let t: TestContext;
  before(async () => {
    // Cards stay `issued` until a test moves them on (no automatic activation).
    t = await startTestContext(
      'giftcard-callbacks',
      {},
      { partners: { giftcards: { autoActivate: false } } },
    );
    await publishProgram(t, redemptionProgram);
  });
  after(async () => {
    await t.stop();
  });

  /** A gift card issued through a redemption; answers its provider card id. */
  const issuedCard = async (): Promise<{ cardId: string; redemptionId: string }> => {
    const rewardId = await createReward(t, { kind: 'gift_card', pointsCost: 10 });
    const memberId = await memberWithPoints(t, 100);
    const res = await redeem(t, { memberId, rewardId });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const redemptionId = res.body.redemptionId as string;
    await waitForStatus(t, redemptionId, 'completed');
    const row = (await t.db('gift_cards').where({ redemption_id: redemptionId }).first()) as
      CardRow | undefined;
    assert.equal(row?.status, 'issued');
    return { cardId: row.card_id, redemptionId };
  };

  const card = async (cardId: string): Promise<CardRow> =>
    (await t.db('gift_cards').where({ card_id: cardId }).first()) as CardRow;

  const statusChange = (cardId: string, status: string, occurredAt = new Date()) => ({
    type: 'giftcard.status_changed',
    cardId,
    status,
    occurredAt: occurredAt.toISOString(),
  });

  const send = (
    body: Record<string, unknown>,
    options: { secret?: string; id?: string; at?: Date } = {},
  ) => {
    const raw = JSON.stringify(body);
    const headers = signatureHeaders(
      options.secret ?? t.config.GIFTCARD_WEBHOOK_SECRET!,
      options.id ?? `msg_${randomUUID()}`,
      raw,
      options.at,
    );
    return t.api('POST', '/callbacks/giftcards', {
      key: null,
      rawBody: raw,
      headers: { ...headers, 'content-type': 'application/json' },
    });
  };

  it("records the provider's own signed callbacks: activated, then redeemed", async () => {
    const { cardId, redemptionId } = await issuedCard();
    const giftcards = t.partners!.giftcards;
    giftcards.setStatus(cardId, 'activated');
    await eventually('activated recorded', async () =>
      (await card(cardId)).status === 'activated' ? true : undefined,
    );
    giftcards.setStatus(cardId, 'redeemed');
    const row = await eventually('redeemed recorded', async () => {
      const found = await card(cardId);
      return found.status === 'redeemed' ? found : undefined;
    });
    assert.equal(row.status_at?.toISOString(), giftcards.card(cardId).statusChangedAt);
    const view = await t.api('GET', `/redemptions/${redemptionId}`);
    assert.equal(view.body.live.giftCard.status, 'redeemed');
    const sent = giftcards.callbacks().filter((c) => c.subject === cardId);
    assert.deepEqual(
      sent.map((c) => [c.status, c.attempts]),
      [
        ['delivered', 1],
        ['delivered', 1],
      ],
      'each taken at the first attempt',
    );
  });

  it('refuses forged and stale (past or future) callbacks with 401, changing nothing', async () => {
    const { cardId } = await issuedCard();
    const untouched = await card(cardId);
    const body = statusChange(cardId, 'voided');
    const forged = await send(body, { secret: generateSecret() });
    assert.equal(forged.status, 401, JSON.stringify(forged.body));
    assert.match(forged.body.detail, /no signature matches/);
    const unsigned = await t.api('POST', '/callbacks/giftcards', { key: null, body });
    assert.equal(unsigned.status, 401);
    const past = await send(body, { at: new Date(Date.now() - 6 * 60_000) });
    assert.equal(past.status, 401);
    assert.match(past.body.detail, /too old/);
    const future = await send(body, { at: new Date(Date.now() + 6 * 60_000) });
    assert.equal(future.status, 401);
    assert.match(future.body.detail, /in the future/);
    assert.deepEqual(await card(cardId), untouched);
    // A signature within the window is taken: the refusals were for the signature alone.
    const valid = await send(body);
    assert.equal(valid.status, 204, JSON.stringify(valid.body));
    assert.equal((await card(cardId)).status, 'voided');
  });

  it('a replayed webhook-id, even sent concurrently, is 204 and acts once', async () => {
    const { cardId } = await issuedCard();
    const webhookId = `msg_${randomUUID()}`;
    const activatedAt = new Date(Date.now() - 1_000);
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        send(statusChange(cardId, 'activated', activatedAt), { id: webhookId }),
      ),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      Array(6).fill(204),
    );
    const activated = await card(cardId);
    assert.equal(activated.status, 'activated');
    assert.equal(activated.status_at?.getTime(), activatedAt.getTime());
    // The same id later, carrying another change: taken already, so ignored.
    const replay = await send(statusChange(cardId, 'voided'), { id: webhookId });
    assert.equal(replay.status, 204);
    assert.deepEqual(await card(cardId), activated);
    const seen = await t
      .db('inbound_webhooks')
      .where({ source: 'giftcards', webhook_id: webhookId });
    assert.equal(seen.length, 1);
  });

  it('an older change than the one recorded is ignored; an unknown card is a 404 not taken', async () => {
    const { cardId } = await issuedCard();
    const now = Date.now();
    assert.equal((await send(statusChange(cardId, 'redeemed', new Date(now)))).status, 204);
    const late = await send(statusChange(cardId, 'activated', new Date(now - 5_000)));
    assert.equal(late.status, 204);
    assert.equal((await card(cardId)).status, 'redeemed', 'callbacks may arrive out of order');

    const webhookId = `msg_${randomUUID()}`;
    const unknown = await send(statusChange(`gc_${randomUUID()}`, 'activated'), { id: webhookId });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errors[0].field, 'cardId');
    const seen = await t
      .db('inbound_webhooks')
      .where({ source: 'giftcards', webhook_id: webhookId });
    assert.deepEqual(seen, [], 'a retry of it is taken');
  });
});
