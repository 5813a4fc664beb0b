/**
 * The reference model (test/model/) against the real engine, first cases: each settles a question
 * of test/model/QUESTIONS.md by sending the same events to both and comparing what they answer.
 * Real time with compressed durations (no time-skipping yet: see "Driving the engine" there).
 * Where the two disagree, the disagreement is printed with both figures and must be one of the
 * open questions listed in `open` below; one that goes away (or appears) fails the test, so the
 * list and QUESTIONS.md stay true.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultProgram, type ProgramInput } from '../domain/program';
import { MemberModel } from './model/member';
import { modelProgram } from './model/program';
import type { ModelEvent, ModelVersion } from './model/types';
import { eventually, startTestContext, type TestContext } from './support/context';
import { enrol, post, publishProgram, purchase, type LineInput } from './support/ledger';

const base: ProgramInput = {
  ...defaultProgram,
  earning: {
    ...defaultProgram.earning,
    pendingPeriod: undefined,
    channelMultipliers: { app: 1.5 },
    categoryMultipliers: { books: 0.5, giftcards: 0 },
    bonuses: [{ name: 'basket', eventType: 'purchase', minAmount: 20, points: 25 }],
    caps: { all: {}, byEventType: {} },
  },
  expiry: { policy: 'fixed', lotLifetime: '1 hour', reminderBefore: '10 minutes' },
};

/**
 * Questions (by number in QUESTIONS.md) on which the engine is known to answer otherwise, until
 * the lead decides which side is right. None now: 15 (a pending lot's life starts at activation)
 * and 30 (switching to activity never shortens a lot's life) were decided and both sides agree.
 */
const open = new Set<number>([]);

const divergences: { question: number; what: string; engine: unknown; model: unknown }[] = [];
function compare(question: number, what: string, engine: unknown, model: unknown): void {
  if (JSON.stringify(engine) === JSON.stringify(model)) return;
  divergences.push({ question, what, engine, model });
}

describe('the model against the engine', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('model-engine');
  });
  after(async () => {
    await t.stop();
    for (const d of divergences) {
      process.stdout.write(
        `# Q${d.question} ${d.what}: engine ${JSON.stringify(d.engine)}, model ${JSON.stringify(d.model)}\n`,
      );
    }
  });

  /** A member on both sides under `program`, put in force now on the engine. */
  async function both(program: ProgramInput): Promise<{ id: string; model: MemberModel }> {
    await publishProgram(t, program);
    const versions: ModelVersion[] = [
      { version: 1, activeFrom: 0, program: modelProgram(program) },
    ];
    const id = await enrol(t);
    return { id, model: new MemberModel(versions, Date.now() - 1000) };
  }

  async function buy(
    side: { id: string; model: MemberModel },
    lines: (LineInput & { category: string })[],
    channel = 'web',
  ): Promise<{
    orderId: string;
    engine: number;
    model: number;
    engineCapped: number;
    modelCapped: number;
  }> {
    const body = purchase(side.id, lines, { channel });
    const res = await post(t, body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const event: ModelEvent = {
      kind: 'purchase',
      at: Date.now(),
      eventId: body.eventId,
      orderId: body.orderId,
      currency: 'EUR',
      channel,
      country: 'DE',
      lines: lines.map((l) => ({
        sku: l.sku,
        category: l.category,
        quantity: l.quantity ?? 1,
        cents: Math.round(l.amount * 100),
      })),
    };
    const modelled = side.model.apply(event);
    return {
      orderId: body.orderId,
      engine: res.body.points.earned as number,
      model: modelled.points,
      engineCapped: res.body.points.capped as number,
      modelCapped: modelled.capped,
    };
  }

  it('Q8: a purchase earns the exact decimal sum rounded down once', async () => {
    const side = await both(base);
    const cases: [string, (LineInput & { category: string })[], string][] = [
      [
        '0.99 + 0.99',
        [
          { sku: 'a', category: 'shoes', amount: 0.99 },
          { sku: 'b', category: 'shoes', amount: 0.99 },
        ],
        'web',
      ],
      [
        'app 19.99 + 10.01',
        [
          { sku: 'a', category: 'shoes', amount: 19.99 },
          { sku: 'b', category: 'shoes', amount: 10.01 },
        ],
        'app',
      ],
      [
        'app 0.1 x 3 lines',
        [0, 1, 2].map((i) => ({ sku: `s${i}`, category: 'shoes', amount: 0.1 })),
        'app',
      ],
      ['books 33.33 x0.5 app', [{ sku: 'a', category: 'books', amount: 33.33 }], 'app'],
      [
        'giftcards and shoes',
        [
          { sku: 'g', category: 'giftcards', amount: 50 },
          { sku: 's', category: 'shoes', amount: 12.34 },
        ],
        'web',
      ],
    ];
    for (const [what, lines, channel] of cases) {
      const r = await buy(side, lines, channel);
      compare(8, what, r.engine, r.model);
    }
  });

  it('Q9/Q10: the tier multiplier, on the upgrading purchase, the next one and fixed event points', async () => {
    const side = await both(base);
    const up = await buy(side, [{ sku: 'a', category: 'shoes', amount: 2000 }]);
    compare(10, 'the purchase that reaches Silver', up.engine, up.model);
    const next = await buy(side, [{ sku: 'b', category: 'shoes', amount: 100 }]);
    compare(10, 'the purchase after it (x1.25)', next.engine, next.model);
    const referral = await post(t, {
      type: 'referral',
      eventId: `ref-${side.id}`,
      memberId: side.id,
    });
    const modelled = side.model.apply({
      kind: 'fixed',
      at: Date.now(),
      eventId: `ref-${side.id}`,
      type: 'referral',
    });
    compare(9, 'a referral at Silver', referral.body.points.earned, modelled.points);
  });

  it("Q16: a return's share, line by line and unit by unit", async () => {
    const side = await both(base);
    const order = await buy(side, [
      { sku: 'a', category: 'shoes', quantity: 3, amount: 10 },
      { sku: 'b', category: 'books', quantity: 2, amount: 7.77 },
      { sku: 'c', category: 'shoes', quantity: 1, amount: 0.99 },
    ]);
    compare(16, 'the order', order.engine, order.model);
    const returns: [string, number][] = [
      ['b', 1],
      ['a', 2],
      ['c', 1],
      ['b', 1],
      ['a', 1],
    ];
    for (const [i, [sku, quantity]] of returns.entries()) {
      const eventId = `ret-${i}-${side.id}`;
      const lines = [{ sku, quantity }];
      const res = await post(t, {
        type: 'return',
        eventId,
        memberId: side.id,
        orderId: order.orderId,
        lines,
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const modelled = side.model.apply({
        kind: 'return',
        at: Date.now(),
        eventId,
        orderId: order.orderId,
        lines,
      });
      compare(
        16,
        `return ${i + 1} (${quantity} x ${sku})`,
        -(res.body.points.reversed as number),
        modelled.points,
      );
    }
  });

  it("Q15: a pending lot's life starts when it activates", async () => {
    const side = await both({ ...base, earning: { ...base.earning, pendingPeriod: '2 seconds' } });
    const r = await buy(side, [{ sku: 'a', category: 'shoes', amount: 80 }]);
    compare(15, 'pending points', r.engine, r.model);
    const [accrual] = await t.db('ledger_entries').where({ member_id: side.id, kind: 'accrual' });
    const earnedAt = (accrual as { created_at: Date }).created_at.getTime();
    await eventually('activation', async () => {
      const res = await t.api('GET', `/members/${side.id}`);
      const { available, pending } = res.body.balance as { available: number; pending: number };
      return available > 0 && pending === 0 ? true : undefined;
    });
    const engine = (await t.api('GET', `/members/${side.id}`)).body.nextExpiry as { at: string };
    // The model, fed the instant the engine recorded the purchase.
    const model = new MemberModel(side.model.versions, earnedAt - 1000);
    model.apply({
      kind: 'purchase',
      at: earnedAt,
      eventId: 'p',
      orderId: 'o',
      currency: 'EUR',
      channel: 'web',
      country: 'DE',
      lines: [{ sku: 'a', category: 'shoes', quantity: 1, cents: 8000 }],
    });
    const expected = model.snapshot(Date.now()).nextExpiry;
    compare(
      15,
      'the activated lot expires at',
      engine.at,
      expected === null ? null : new Date(expected).toISOString(),
    );
  });

  it('Q30: switching to activity extends lots by the last activity at once, never before their own date', async () => {
    const side = await both(base);
    await buy(side, [{ sku: 'a', category: 'shoes', amount: 10 }]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await post(t, { type: 'review', eventId: `rv-${side.id}`, memberId: side.id });
    const accruals = (await t
      .db('ledger_entries')
      .where({ member_id: side.id, kind: 'accrual' })
      .orderBy('id')) as { created_at: Date }[];
    const [bought, reviewed] = accruals.map((e) => e.created_at.getTime());
    const longer = {
      ...base,
      expiry: { ...base.expiry, policy: 'activity' as const, lotLifetime: '2 hours' },
    };
    const shorter = { ...longer, expiry: { ...longer.expiry, lotLifetime: '10 minutes' } };
    const versions: ModelVersion[] = [{ version: 1, activeFrom: 0, program: modelProgram(base) }];
    const nextExpiry = async (what: string, program: ProgramInput) => {
      await publishProgram(t, program);
      versions.push({
        version: versions.length + 1,
        activeFrom: Date.now(),
        program: modelProgram(program),
      });
      // The model, fed the instants the engine recorded the purchase and the review at.
      const model = new MemberModel(versions, bought! - 1000);
      model.apply({
        kind: 'purchase',
        at: bought!,
        eventId: 'p',
        orderId: 'o',
        currency: 'EUR',
        channel: 'web',
        country: 'DE',
        lines: [{ sku: 'a', category: 'shoes', quantity: 1, cents: 1000 }],
      });
      model.apply({ kind: 'fixed', at: reviewed!, eventId: 'rv', type: 'review' });
      const engine = (await t.api('GET', `/members/${side.id}`)).body.nextExpiry as { at: string };
      const expected = model.snapshot(Date.now()).nextExpiry;
      compare(30, what, engine.at, expected === null ? null : new Date(expected).toISOString());
      return Date.parse(engine.at);
    };
    const own = await nextExpiry('fixed: the purchase lot', base);
    const extended = await nextExpiry('activity, 2 hours: last activity + 2 hours', longer);
    const kept = await nextExpiry('activity, 10 minutes: never before its own date', shorter);
    // The engine itself, whatever the model says: lengthened at once, then never shortened.
    assert.equal(extended, reviewed! + 2 * 3_600_000);
    assert.equal(kept, own);
  });

  it('Q11-Q13, Q19, Q23, Q24: caps with bonuses, unknown currency, overdrawing, pending points and tiers', async () => {
    const capped = await both({
      ...base,
      earning: {
        ...base.earning,
        pointsPerUnit: { EUR: 1 },
        caps: { all: { perDay: 300 }, byEventType: { purchase: { perMonth: 250 } } },
      },
    });
    for (const [i, amount] of [100, 200].entries()) {
      const r = await buy(capped, [{ sku: `s${i}`, category: 'shoes', amount }]);
      compare(11, `capped purchase ${i + 1} earned`, r.engine, r.model);
      compare(12, `capped purchase ${i + 1} cut`, r.engineCapped, r.modelCapped);
    }
    const review = await post(t, {
      type: 'review',
      eventId: `rv-${capped.id}`,
      memberId: capped.id,
    });
    const modelReview = capped.model.apply({
      kind: 'fixed',
      at: Date.now(),
      eventId: 'rv',
      type: 'review',
    });
    compare(
      12,
      'a review under the overall day cap',
      [review.body.points.earned, review.body.points.capped],
      [modelReview.points, modelReview.capped],
    );

    const usd = purchase(capped.id, [{ sku: 'u', amount: 10 }], { currency: 'USD' });
    const usdAnswer = await post(t, usd);
    const usdModel = capped.model.apply({
      kind: 'purchase',
      at: Date.now(),
      eventId: usd.eventId,
      orderId: usd.orderId,
      currency: 'USD',
      channel: 'web',
      country: 'DE',
      lines: [{ sku: 'u', category: 'general', quantity: 1, cents: 1000 }],
    });
    compare(
      13,
      'a purchase in a currency the rules do not know',
      usdAnswer.status === 201 ? usdAnswer.body.points.earned : 'refused',
      usdModel.refused ? 'refused' : usdModel.points,
    );

    const balance = (await t.api('GET', `/members/${capped.id}`)).body.balance.available as number;
    const overdraw = await t.api('POST', `/members/${capped.id}/adjustments`, {
      body: { points: -(balance + 10), reason: 'more than there is' },
    });
    const modelOverdraw = capped.model.apply({
      kind: 'adjustment',
      at: Date.now(),
      id: 'adj',
      points: -(balance + 10),
    });
    compare(
      19,
      'a negative adjustment past the balance',
      overdraw.status === 201
        ? (await t.api('GET', `/members/${capped.id}`)).body.balance
        : 'refused',
      modelOverdraw.refused ? 'refused' : capped.model.ledger.balances(),
    );

    const pending = await both({ ...base, earning: { ...base.earning, pendingPeriod: '1 hour' } });
    await buy(pending, [{ sku: 'p', category: 'shoes', amount: 15_000 }]);
    const member = (await t.api('GET', `/members/${pending.id}`)).body as {
      balance: unknown;
      tier: { name: string; qualifyingPoints: number };
    };
    const snap = pending.model.snapshot(Date.now());
    compare(23, 'balances after a pending purchase', member.balance, snap.balances);
    compare(
      23,
      'qualifying points of a pending purchase',
      member.tier.qualifyingPoints,
      snap.qualifying,
    );
    compare(24, 'the tier it reaches at once', member.tier.name, snap.tier.name);
  });

  it('disagrees only on the open questions', () => {
    assert.deepEqual(
      [...new Set(divergences.map((d) => d.question))].sort((a, b) => a - b),
      [...open].sort((a, b) => a - b),
      JSON.stringify(divergences, null, 1),
    );
  });
});
