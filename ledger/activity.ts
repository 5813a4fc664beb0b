/**
 * Member activity as `POST /events` takes it, its answer, and what makes it exactly-once: the
 * request's fingerprint and the replay of a stored answer.
 */
import { createHash } from 'node:crypto';
import type { PurchaseLine } from '../domain/earning';
import type { LifecycleChange } from '../domain/member';
import { conflict } from '../domain/refusal';
import type { ReturnLine } from './returns';
import type { LedgerMemberRow, StoredEvent } from './store';

export interface ActivityEvent {
  eventId: string;
  memberId?: string | undefined;
  externalId?: string | undefined;
  type: 'purchase' | 'return' | 'referral' | 'review' | 'custom';
  /** The custom event type's name, as the rules know it. */
  name?: string | undefined;
  occurredAt?: string | undefined;
  orderId?: string | undefined;
  currency?: string | undefined;
  amount?: number | undefined;
  channel?: string | undefined;
  store?: string | undefined;
  /** Where it happened (guardrails/geo.ts): read back by the earning detectors. */
  country?: string | undefined;
  lat?: number | undefined;
  lon?: number | undefined;
  deviceId?: string | undefined;
  lines?: (PurchaseLine | ReturnLine)[] | undefined;
  reference?: string | undefined;
}

export interface EventResult {
  status: number;
  body: EventAnswer;
  replayed: boolean;
  /** What the member's lifecycle workflow should hear about (empty on a replay). */
  changes: LifecycleChange[];
  member?: LedgerMemberRow;
}

export type EventAnswer = Record<string, unknown> & { memberId: string };

export function hashRequest(value: unknown): string {
  return hashJson(JSON.stringify(value));
}

/** `hashRequest` of a value already serialized, so a caller storing the JSON stringifies once. */
export function hashJson(json: string): string {
  return createHash('sha256').update(json).digest('hex');
}

/** The stored answer to an event sent again; the same id with other content is a conflict. */
export function replay(stored: StoredEvent, hash: string, eventId: string): EventResult {
  if (stored.request_hash !== hash) {
    throw conflict(
      `Event '${eventId}' was already recorded with other content.`,
      'eventId',
      'already used for a different event',
    );
  }
  return { status: 201, body: stored.response, replayed: true, changes: [] };
}

export function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e?.code === '23505' && e.constraint === constraint;
}
