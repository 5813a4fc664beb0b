/**
 * Frozen points on the real stack: an accrual the earning detectors flag (velocity, impossible
 * travel), by `POST /events` or a batch, lands frozen (on the ledger and in `frozen`, not in the
 * spendable balance, no expiry running); ops release it (spendable, expiring a lifetime from the
 * release) or void it (a reversing entry), once, with a reason and an Idempotency-Key. With every
 * earning detector off nothing is frozen.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ms } from '../domain/program';
import { reviewMember } from '../ledger/lifecycle';
import { startTestContext, type TestContext } from './support/context';
import {
  assertConsistent,
  balanceOf,
  enrol,
  post,
  publishProgram,
  purchase,
} from './support/ledger';
import { createReward, redeem, redemptionProgram } from './support/redemptions';

const BERLIN = { lat: 52.52, lon: 13.405 };
const NEW_YORK = { lat: 40.7128, lon: -74.006 };

describe('frozen points', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('frozen', {}, { partners: {} });
  });
  after(async () => {
    await t.stop();
  });

  const referral = (memberId: string, extra: Record<string, unknown> = {}) => ({
    type: 'referral',
    eventId: `evt-${randomUUID()}`,
    memberId,
    reference: 'friend',
    ...extra,
  });
  const memberOf = async (memberId: string) => {
    const res = await t.api('GET', `/members/${memberId}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as { balance: { available: number }; frozen: number };
  };
  const frozenOf = async (memberId: string) => {
    const res = await t.api('GET', `/members/${memberId}/frozen`, { key: t.keys.readonly });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as {
      total: number;
      items: {
        entryId: number;
        eventId: string;
        points: number;
        findings: { detector: string }[];
      }[];
    };
  };
  const decide = (
    memberId: string,
    entryId: number,
    decision: 'release' | 'void',
    body: unknown,
    options: { key?: string; idem?: string } = {},
  ) =>
    t.api('POST', `/members/${memberId}/frozen/${entryId}/${decision}`, {
      key: options.key ?? t.keys.ops,
      body,
      ...(options.idem ? { headers: { 'Idempotency-Key': options.idem } } : {}),
    });

  it('with every earning detector off, nothing is frozen', async () => {
    await publishProgram(t, redemptionProgram);
    const memberId = await enrol(t);
    for (const place of [BERLIN, NEW_YORK, BERLIN, NEW_YORK]) {
      const res = await post(t, referral(memberId, { ...place, country: 'DE' }));
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.points.state, 'available');
    }
    const member = await memberOf(memberId);
    assert.equal(member.frozen, 0);
    assert.equal(member.balance.available, 4 * 500);
    assert.deepEqual((await frozenOf(memberId)).items, []);
    const findings = await t.db('anomaly_findings').where({ member_id: memberId });
    assert.equal(findings.length, 0);
  });

  it('refuses bad event context, naming the field, and records nothing', async () => {
    const memberId = await enrol(t);
    for (const [extra, field] of [
      [{ lat: 52.5 }, 'lon'],
      [{ lon: 13.4 }, 'lat'],
      [{ lat: 91, lon: 0 }, 'lat'],
      [{ lat: 0, lon: 181 }, 'lon'],
      [{ country: 'de' }, 'country'],
      [{ deviceId: '' }, 'deviceId'],
    ] as const) {
      const res = await post(t, referral(memberId, extra));
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.ok(
        (res.body.errors as { field: string }[]).some((e) => e.field === field),
        `${JSON.stringify(extra)} names ${field}: ${JSON.stringify(res.body.errors)}`,
      );
    }
    assert.equal((await memberOf(memberId)).balance.available, 0);
    const ok = await post(
      t,
      referral(memberId, { ...BERLIN, country: 'DE', deviceId: 'device-1' }),
    );
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const stored = await t.db('ledger_events').where({ id: ok.body.eventId }).first();
    assert.deepEqual(
      {
        country: stored.payload.country,
        lat: stored.payload.lat,
        lon: stored.payload.lon,
        deviceId: stored.payload.deviceId,
      },
      { country: 'DE', ...BERLIN, deviceId: 'device-1' },
    );
  });

  describe('with earning velocity and impossible travel on', () => {
    before(async () => {
      await publishProgram(t, {
        ...redemptionProgram,
        detection: {
          earningVelocity: [{ window: '1 hour', maxEvents: 2 }],
          impossibleTravel: { maxKmPerHour: 900, minKm: 100 },
        },
      });
    });

    it('velocity freezes an accrual: not spendable; release makes it spendable, once', async () => {
      const memberId = await enrol(t);
      const answers: {
        eventId: string;
        points: { state: string; frozen?: { findings: { detector: string }[] } };
        balance: { available: number };
      }[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await post(t, referral(memberId));
        assert.equal(res.status, 201, JSON.stringify(res.body));
        answers.push(res.body);
      }
      assert.deepEqual(
        answers.map((a) => a.points.state),
        ['available', 'available', 'frozen'],
      );
      assert.equal(answers[2]!.points.frozen?.findings[0]?.detector, 'earningVelocity');
      assert.equal(answers[2]!.balance.available, 1000, 'the answer: frozen not in balance');

      const member = await memberOf(memberId);
      assert.equal(member.balance.available, 1000);
      assert.equal(member.frozen, 500);
      await assertConsistent(t, memberId);

      // A redemption needing the frozen points is refused; nothing is held.
      const reward = await createReward(t, { pointsCost: 1200, onHand: 5 });
      const refused = await redeem(t, { memberId, rewardId: reward });
      assert.equal(refused.status, 422, JSON.stringify(refused.body));
      assert.equal((await balanceOf(t, memberId)).held, 0);

      const frozen = await frozenOf(memberId);
      assert.equal(frozen.total, 500);
      assert.equal(frozen.items.length, 1);
      const [item] = frozen.items;
      assert.equal(item!.eventId, answers[2]!.eventId);
      assert.equal(item!.findings[0]!.detector, 'earningVelocity');

      const entryId = item!.entryId;
      const readonly = await decide(
        memberId,
        entryId,
        'release',
        { reason: 'ok' },
        {
          key: t.keys.readonly,
        },
      );
      assert.equal(readonly.status, 403, JSON.stringify(readonly.body));
      const noReason = await decide(memberId, entryId, 'release', {});
      assert.equal(noReason.status, 422, JSON.stringify(noReason.body));
      assert.equal(noReason.body.errors[0].field, 'reason');

      const idem = randomUUID();
      const released = await decide(
        memberId,
        entryId,
        'release',
        { reason: 'checked with the store' },
        { idem },
      );
      assert.equal(released.status, 200, JSON.stringify(released.body));
      assert.equal(released.body.state, 'available');
      assert.equal(released.body.points, 500);
      const replay = await decide(
        memberId,
        entryId,
        'release',
        { reason: 'checked with the store' },
        { idem },
      );
      assert.deepEqual(replay.body, released.body);
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      const again = await decide(memberId, entryId, 'void', { reason: 'changed my mind' });
      assert.equal(again.status, 409, JSON.stringify(again.body));

      const after = await memberOf(memberId);
      assert.equal(after.balance.available, 1500);
      assert.equal(after.frozen, 0);
      assert.deepEqual((await frozenOf(memberId)).items, []);
      await assertConsistent(t, memberId);

      // Expiry counts from the release: a whole lot lifetime.
      const lot = await t.db('lots').where({ entry_id: entryId }).first();
      assert.equal(lot.status, 'active');
      const lifetime = ms(redemptionProgram.expiry.lotLifetime);
      assert.equal(lot.expires_at.getTime(), Date.parse(released.body.expiresAt));
      assert.ok(lot.expires_at.getTime() >= Date.parse(released.body.decidedAt) + lifetime - 1);

      const redeemed = await redeem(t, { memberId, rewardId: reward });
      assert.equal(redeemed.status < 300, true, JSON.stringify(redeemed.body));

      const types = (await t.db('program_events').where({ member_id: memberId }).orderBy('id')).map(
        (e: { type: string }) => e.type,
      );
      for (const type of ['anomaly.detected', 'points.frozen', 'points.released'])
        assert.ok(types.includes(type), `${type} in ${types.join(', ')}`);
      const audit = await t.db('frozen_decisions').where({ entry_id: entryId });
      assert.equal(audit.length, 1);
      assert.equal(audit[0].reason, 'checked with the store');
      assert.match(audit[0].actor, /^ops:/);
    });

    it('impossible travel freezes; void takes the points off the ledger', async () => {
      const memberId = await enrol(t);
      const first = await post(t, referral(memberId, { ...BERLIN, country: 'DE' }));
      assert.equal(first.body.points.state, 'available');
      const second = await post(t, referral(memberId, { ...NEW_YORK, country: 'US' }));
      assert.equal(second.body.points.state, 'frozen', JSON.stringify(second.body));
      assert.equal(second.body.points.frozen.findings[0].detector, 'impossibleTravel');

      // Frozen points do not expire: a review far past their lifetime expires the other lot only.
      const lifetime = ms(redemptionProgram.expiry.lotLifetime);
      await reviewMember(t.db, memberId, new Date(Date.now() + 2 * lifetime));
      const reviewed = await memberOf(memberId);
      assert.equal(reviewed.frozen, 500);
      assert.equal(reviewed.balance.available, 0, 'the unfrozen lot expired');
      await assertConsistent(t, memberId);

      const [item] = (await frozenOf(memberId)).items;
      const voided = await decide(memberId, item!.entryId, 'void', { reason: 'stolen account' });
      assert.equal(voided.status, 200, JSON.stringify(voided.body));
      assert.equal(voided.body.state, 'voided');
      const twice = await decide(memberId, item!.entryId, 'void', { reason: 'again' });
      assert.equal(twice.status, 409, JSON.stringify(twice.body));

      const member = await memberOf(memberId);
      assert.equal(member.frozen, 0);
      assert.equal(member.balance.available, 0);
      await assertConsistent(t, memberId);
      const ledger = await t.api('GET', `/members/${memberId}/ledger`);
      const last = ledger.body.entries.at(-1);
      assert.equal(last.kind, 'reversal');
      assert.equal(last.amount, -500);
      assert.equal(last.deltas.frozen, -500);
      assert.equal(last.balanceAfter.frozen, 0);
      const events = await t
        .db('program_events')
        .where({ member_id: memberId, type: 'points.voided' });
      assert.equal(events.length, 1);
    });

    it('a batch freezes the events past the threshold, and a resend changes nothing', async () => {
      const memberId = await enrol(t);
      const events = Array.from({ length: 4 }, () => referral(memberId));
      const send = () => t.api('POST', '/events/batch', { key: t.keys.partner, body: { events } });
      const res = await send();
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(
        res.body.results.map((r: { body: { points: { state: string } } }) => r.body.points.state),
        ['available', 'available', 'frozen', 'frozen'],
      );
      const findings = async () =>
        Number(
          (await t.db('anomaly_findings').where({ member_id: memberId }).count({ n: '*' }))[0]!.n,
        );
      const recorded = await findings();
      assert.equal(recorded, 2);
      const again = await send();
      assert.deepEqual(
        again.body.results.map((r: { status: number }) => r.status),
        [200, 200, 200, 200],
      );
      assert.equal(await findings(), recorded, 'a resend records no finding again');
      const member = await memberOf(memberId);
      assert.equal(member.frozen, 1000);
      assert.equal(member.balance.available, 1000);
      assert.equal((await frozenOf(memberId)).items.length, 2);
      await assertConsistent(t, memberId);
    });

    it("released inside the return window: pending, and the lot's life starts at its activation", async () => {
      await publishProgram(t, {
        ...redemptionProgram,
        earning: { ...redemptionProgram.earning, pendingPeriod: '1 hour' },
        detection: { earningVelocity: [{ window: '1 hour', maxEvents: 2 }] },
      });
      const memberId = await enrol(t);
      const states: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await post(t, purchase(memberId, [{ sku: `s${i}`, amount: 100 }]));
        assert.equal(res.status, 201, JSON.stringify(res.body));
        states.push(res.body.points.state as string);
      }
      assert.deepEqual(states, ['pending', 'pending', 'frozen']);
      const [item] = (await frozenOf(memberId)).items;
      const released = await decide(memberId, item!.entryId, 'release', { reason: 'checked' });
      assert.equal(released.status, 200, JSON.stringify(released.body));
      assert.equal(released.body.state, 'pending');
      const lot = await t.db('lots').where({ entry_id: item!.entryId }).first();
      const lifetime = ms(redemptionProgram.expiry.lotLifetime);
      assert.equal(lot.status, 'pending');
      assert.equal(Date.parse(released.body.expiresAt), lot.activates_at.getTime() + lifetime);
      assert.equal(lot.expires_at.getTime(), lot.activates_at.getTime() + lifetime);
      await assertConsistent(t, memberId);
    });
  });

  describe('with linked accounts by device on', () => {
    before(async () => {
      await publishProgram(t, {
        ...redemptionProgram,
        detection: { linkedAccounts: { maxMembersPerDevice: 2 } },
      });
    });
    const states = (res: { status: number; body: unknown }) => {
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return (res.body as { results: { body: { points: { state: string } } }[] }).results.map(
        (r) => r.body.points.state,
      );
    };

    it('a third member on one device is frozen; one member on it again and again is not', async () => {
      const deviceId = `dev-${randomUUID()}`;
      const [a, b, c] = [await enrol(t), await enrol(t), await enrol(t)];
      for (let i = 0; i < 3; i++) {
        const own = await post(t, referral(a, { deviceId }));
        assert.equal(own.body.points.state, 'available', JSON.stringify(own.body));
      }
      assert.equal((await post(t, referral(b, { deviceId }))).body.points.state, 'available');
      const third = await post(t, referral(c, { deviceId }));
      assert.equal(third.body.points.state, 'frozen', JSON.stringify(third.body));
      assert.equal(third.body.points.frozen.findings[0].detector, 'linkedAccounts');
      const [finding] = await t.db('anomaly_findings').where({ member_id: c });
      assert.deepEqual(finding.seen, { kind: 'device', members: 3, device: deviceId });
      assert.equal(finding.subject, `event:${third.body.eventId}`);
      // The first two members' later events are flagged too: the device has 3 members now.
      const later = await post(t, referral(b, { deviceId }));
      assert.equal(later.body.points.state, 'frozen', JSON.stringify(later.body));
      // Another device of the same member is its own.
      const other = await post(t, referral(c, { deviceId: `dev-${randomUUID()}` }));
      assert.equal(other.body.points.state, 'available', JSON.stringify(other.body));
      await assertConsistent(t, c);
    });

    it('in one batch: the members before it on the device count though not written yet', async () => {
      const deviceId = `dev-${randomUUID()}`;
      const members = [await enrol(t), await enrol(t), await enrol(t), await enrol(t)];
      const events = members.map((m) => referral(m, { deviceId }));
      const send = () => t.api('POST', '/events/batch', { key: t.keys.partner, body: { events } });
      assert.deepEqual(states(await send()), ['available', 'available', 'frozen', 'frozen']);
      assert.deepEqual(states(await send()), ['available', 'available', 'frozen', 'frozen']);
      const findings = await t
        .db('anomaly_findings')
        .whereIn('member_id', members)
        .select<{ member_id: string }[]>('member_id');
      assert.deepEqual(findings.map((f) => f.member_id).sort(), members.slice(2).sort());
    });
  });
});
