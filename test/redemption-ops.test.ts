/**
 * The rules behind what the console shows about a redemption, on their own: when it is at risk
 * of breaching its delivery SLA, what a role may do with it, who did a step and why, and how a
 * code is masked. (The same rules over HTTP: `redemption-console.test.ts`.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codeFor, maskCode } from '../domain/codes';
import { actorOf, allowedActions, slaOf } from '../domain/redemption-ops';

const minute = 60_000;
const created = new Date('2026-12-01T10:00:00Z');
const at = (minutes: number) => new Date(created.getTime() + minutes * minute);
const policy = { deliverySlaMs: 60 * minute, marginMs: 15 * minute };

describe('redemption rules for ops', () => {
  it('at risk from the margin before the deadline; the clock restarts when the parcel ships', () => {
    const waiting = {
      status: 'shipment_requested' as const,
      createdAt: created,
      shippedAt: null,
      breachRecorded: false,
    };
    assert.deepEqual(slaOf(waiting, policy, at(44)), {
      slaDeadline: at(60).toISOString(),
      slaBreached: false,
      atRisk: false,
    });
    assert.equal(slaOf(waiting, policy, at(45)).atRisk, true, 'within the margin');
    assert.deepEqual(slaOf(waiting, policy, at(61)), {
      slaDeadline: at(60).toISOString(),
      slaBreached: true,
      atRisk: true,
    });
    const shipped = { ...waiting, status: 'shipped' as const, shippedAt: at(50) };
    assert.deepEqual(slaOf(shipped, policy, at(61)), {
      slaDeadline: at(110).toISOString(),
      slaBreached: false,
      atRisk: false,
    });
    const delivered = { ...shipped, status: 'completed' as const, breachRecorded: true };
    assert.deepEqual(slaOf(delivered, policy, at(500)), {
      slaDeadline: null,
      slaBreached: true,
      atRisk: false,
    });
  });

  it('ops and admin may cancel until it ships and return once delivered; others may do nothing', () => {
    const waiting = { status: 'stock_reserved' as const, deliveredAt: null };
    // Delivered 20 minutes after the request: the window runs from the delivery.
    const done = { status: 'completed' as const, deliveredAt: at(20) };
    const window = 30 * minute;
    assert.deepEqual(allowedActions('ops', waiting, window, at(1)), ['cancel']);
    assert.deepEqual(allowedActions('admin', waiting, window, at(1)), ['cancel']);
    assert.deepEqual(allowedActions('readonly', waiting, window, at(1)), []);
    assert.deepEqual(allowedActions('partner', waiting, window, at(1)), []);
    assert.deepEqual(allowedActions('ops', { ...waiting, status: 'shipped' }, window, at(1)), []);
    assert.deepEqual(
      allowedActions('ops', done, window, at(31)),
      ['return'],
      'past the window from the request, within it from delivery',
    );
    assert.deepEqual(allowedActions('ops', done, window, at(50)), ['return'], 'the last moment');
    assert.deepEqual(allowedActions('ops', done, window, at(51)), [], 'past the return window');
    assert.deepEqual(allowedActions('ops', { ...done, deliveredAt: null }, window, at(21)), []);
    assert.deepEqual(allowedActions('readonly', done, window, at(21)), []);
    assert.deepEqual(
      allowedActions('ops', { ...waiting, strandedHold: true }, window, at(1)),
      ['settle'],
      'its workflow closed with points held: only a settlement',
    );
  });

  it('who did each step, and why', () => {
    const card = { kind: 'gift_card' as const, provider: 'giftco' };
    const parcel = { kind: 'physical' as const, provider: null };
    assert.deepEqual(
      actorOf('cancelled', { reason: 'cancelled by ops:desk 1: moved: no forwarding' }, parcel),
      { actor: 'ops:desk 1', actorType: 'key', reason: 'moved: no forwarding' },
    );
    assert.deepEqual(
      actorOf('cancelled', { reason: 'cancelled: the workflow was cancelled in Temporal' }, parcel),
      {
        actor: 'system:temporal',
        actorType: 'system',
        reason: 'cancelled: the workflow was cancelled in Temporal',
      },
    );
    assert.deepEqual(
      actorOf('failed', { reason: 'declined', failureType: 'GiftCardDeclined' }, card),
      { actor: 'partner:giftco', actorType: 'partner', reason: 'declined' },
    );
    assert.deepEqual(
      actorOf('failed', { reason: 'out of stock', failureType: 'OutOfStock' }, parcel),
      { actor: 'system:workflow', actorType: 'system', reason: 'out of stock' },
    );
    assert.deepEqual(actorOf('substituted', { by: 'policy', reason: 'closest' }, parcel), {
      actor: 'system:policy',
      actorType: 'system',
      reason: 'closest',
    });
    assert.deepEqual(
      actorOf('substitution_declined', { by: 'ops:ann', reason: 'too dear' }, parcel),
      { actor: 'ops:ann', actorType: 'key', reason: 'too dear' },
    );
    assert.equal(actorOf('issued', {}, card).actor, 'partner:giftco');
    assert.equal(actorOf('issued', { coupon: 'X' }, null).actor, 'system:workflow');
    assert.match(actorOf('sla_breached', { credited: 100 }, parcel).reason!, /100 points/);
  });

  it('codes: whole for ops and admin, all but the last 4 masked for anyone else', () => {
    assert.equal(maskCode('ABCD-1234-WXYZ'), '**********WXYZ');
    assert.equal(maskCode('ABCD'), '****');
    assert.equal(codeFor('ops', 'ABCD-1234'), 'ABCD-1234');
    assert.equal(codeFor('admin', 'ABCD-1234'), 'ABCD-1234');
    assert.equal(codeFor('readonly', 'ABCD-1234'), '*****1234');
    assert.equal(codeFor('partner', 'ABCD-1234'), '*****1234');
  });
});
