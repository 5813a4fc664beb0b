/**
 * The ledger's building blocks, used inside one transaction per member change: the member row is
 * locked first (`FOR UPDATE`), so changes to one member are serial; entries are appended, lots
 * and balances moved with them. Constraints in the schema back every rule up.
 */
import { memberClosed, memberNotFound, memberSuspended } from '../domain/refusal';
import type { Db, Trx } from '../infra/db';
import type { MemberStatus } from '../domain/member';
import { takeFifo, type OpenLot, type Take } from '../domain/lots';

export type EntryKind =
  | 'accrual'
  | 'activation'
  | 'hold'
  | 'redemption'
  | 'release'
  | 'reversal'
  | 'expiry'
  | 'adjustment';

export interface LedgerMemberRow {
  id: string;
  external_id: string;
  status: MemberStatus;
  tier: string;
  available: number;
  pending: number;
  held: number;
  debt: number;
  /** Flagged accruals waiting for review (ledger/frozen.ts): not spendable, not expiring. */
  frozen: number;
  enrolled_at: Date;
  last_activity_at: Date | null;
  tier_period_ends_at: Date | null;
  tier_grace_ends_at: Date | null;
  lifecycle_wake_at: Date | null;
  closed_at: Date | null;
  suspended_at?: Date | null;
  suspension_reason?: string | null;
}

export interface Deltas {
  available?: number;
  pending?: number;
  held?: number;
  debt?: number;
  frozen?: number;
}

export interface EntryInput extends Deltas {
  kind: EntryKind;
  reason: string;
  actor: string;
  dedupeKey: string;
  qualifying?: number;
  sourceEventId?: string | null;
  holdId?: string | null;
  ruleVersion?: number | null;
}

export interface LotRow {
  id: number;
  /** `frozen`: a flagged accrual's points, until released (pending or active) or voided. */
  status: 'pending' | 'active' | 'frozen';
  original: number;
  remaining: number;
  activates_at: Date | null;
  expires_at: Date;
  entry_id: number;
  created_at: Date;
}

export interface NewLot {
  amount: number;
  status: 'pending' | 'active' | 'frozen';
  activatesAt: Date | null;
  expiresAt: Date;
}

export type MemberKey = { id: string } | { externalId: string };

/**
 * Runs `work` in a transaction holding the member's row lock; writes it deferred (program events,
 * counters) go out with the final balance update.
 */
export async function withMember<T>(
  db: Db,
  key: MemberKey,
  work: (ledger: MemberLedger) => Promise<T>,
  now: Date = new Date(),
): Promise<T> {
  return db.transaction(async (trx) => {
    const { member, ruleVersion } = await lockMemberFor(trx, key, null);
    const ledger = new MemberLedger(trx, member, now, ruleVersion);
    const result = await work(ledger);
    await ledger.flush();
    return result;
  });
}

export async function lockMember(trx: Trx, key: MemberKey): Promise<LedgerMemberRow> {
  return (await lockMemberFor(trx, key, null)).member;
}

export interface StoredEvent {
  request_hash: string;
  response: Record<string, unknown> & { memberId: string };
}

/**
 * Locks the member and, in the same round trip, reads the program version in force for it (its
 * cohort's during a soft launch, else the general one); then, when `eventId` is given, reads that
 * event if it was already recorded. Read under the lock, so what the transaction decides is decided
 * under one version.
 *
 * The stored event is read by a statement of its own, after the lock: a statement that waited for
 * the lock re-reads only the locked row (Postgres re-checks the `FOR UPDATE` row alone), so an event
 * row joined into it would come from the snapshot taken before the wait, and miss the event that
 * the transaction holding the lock had just recorded.
 */
export async function lockMemberFor(
  trx: Trx,
  key: MemberKey,
  eventId: string | null,
): Promise<{ member: LedgerMemberRow; ruleVersion: number; stored: StoredEvent | null }> {
  const [column, value] = 'id' in key ? ['id', key.id] : ['external_id', key.externalId];
  const { rows } = await trx.raw<{ rows: (LedgerMemberRow & { _rule_version: number })[] }>(
    `SELECT m.*, loyalty_rule_version(m.id) AS _rule_version
     FROM members m WHERE m.${column} = ? FOR UPDATE OF m`,
    [value],
  );
  const row = rows[0];
  if (!row) {
    throw memberNotFound('id' in key ? 'memberId' : 'externalId', value);
  }
  const { _rule_version, ...member } = row;
  return {
    member,
    ruleVersion: _rule_version,
    stored: eventId ? await storedEvent(trx, eventId) : null,
  };
}

/** The event `eventId` as recorded (its request's fingerprint and its answer), if it was. */
async function storedEvent(trx: Trx, eventId: string): Promise<StoredEvent | null> {
  const { rows } = await trx.raw<{ rows: StoredEvent[] }>(
    'SELECT request_hash, response FROM ledger_events WHERE id = ?',
    [eventId],
  );
  return rows[0] ?? null;
}

export class MemberLedger {
  private readonly pendingDeltas = { available: 0, pending: 0, held: 0, debt: 0, frozen: 0 };
  /** Inserts that need no answer, sent as CTEs of the next `save` (one round trip for all). */
  private deferred: { sql: string; bindings: unknown[] }[] = [];
  /** Member columns changed by `set`, written by the next `save`. */
  private staged: Partial<Omit<LedgerMemberRow, 'id'>> = {};

  constructor(
    readonly trx: Trx,
    public member: LedgerMemberRow,
    readonly now: Date,
    /** The program version in force for the member, read with its lock. */
    readonly ruleVersion: number,
  ) {}

  /** Balances as they will be once this transaction's entries are saved. */
  get balances() {
    const d = this.pendingDeltas;
    return {
      available: this.member.available + d.available,
      pending: this.member.pending + d.pending,
      held: this.member.held + d.held,
      debt: this.member.debt + d.debt,
    };
  }

  /** Frozen points as they will be once saved (apart from `balances`, which are spendable). */
  get frozen(): number {
    return this.member.frozen + this.pendingDeltas.frozen;
  }

  assertOpen(): void {
    if (this.member.status === 'closed') {
      throw memberClosed(this.member.id);
    }
  }

  /** Open and not suspended: what earning and holding points for a redemption need. */
  assertCanTransact(): void {
    this.assertOpen();
    if (this.member.status === 'suspended') throw memberSuspended(this.member.id);
  }

  /** Appends an entry; returns its id, or null when its dedupe key was already used. */
  async append(entry: EntryInput): Promise<number | null> {
    return (await this.appendWithLot(entry, null)).entryId;
  }

  /**
   * Appends an entry and, when `lot` is given, the lot it creates with the lot's first movement:
   * one statement. Both ids are null when the entry's dedupe key was already used.
   */
  async appendWithLot(
    entry: EntryInput,
    lot: NewLot | null,
  ): Promise<{ entryId: number | null; lotId: number | null }> {
    const available = entry.available ?? 0;
    const pending = entry.pending ?? 0;
    const held = entry.held ?? 0;
    const debt = entry.debt ?? 0;
    const frozen = entry.frozen ?? 0;
    const insertEntry = `INSERT INTO ledger_entries (member_id, kind, amount, available_delta,
         pending_delta, held_delta, debt_delta, frozen_delta, qualifying, reason, actor,
         source_event_id, hold_id, dedupe_key, rule_version, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`;
    const entryBindings = [
      this.member.id,
      entry.kind,
      available + pending + held + frozen - debt,
      available,
      pending,
      held,
      debt,
      frozen,
      entry.qualifying ?? 0,
      entry.reason,
      entry.actor,
      entry.sourceEventId ?? null,
      entry.holdId ?? null,
      entry.dedupeKey,
      entry.ruleVersion ?? null,
      this.now,
    ];
    const { rows } = lot
      ? await this.trx.raw<{ rows: { id: number; lot_id: number | null }[] }>(
          `WITH entry AS (${insertEntry}),
           lot AS (
             INSERT INTO lots (member_id, entry_id, status, original, remaining, activates_at,
               expires_at, created_at)
             SELECT ?, entry.id, ?, ?, ?, ?, ?, ? FROM entry RETURNING id, entry_id),
           movement AS (
             INSERT INTO lot_movements (entry_id, lot_id, delta) SELECT entry_id, id, ? FROM lot)
           SELECT entry.id, lot.id AS lot_id FROM entry LEFT JOIN lot ON true`,
          [
            ...entryBindings,
            this.member.id,
            lot.status,
            lot.amount,
            lot.amount,
            lot.activatesAt,
            lot.expiresAt,
            this.now,
            lot.amount,
          ],
        )
      : await this.trx.raw<{ rows: { id: number; lot_id?: null }[] }>(insertEntry, entryBindings);
    const id = rows[0]?.id ?? null;
    if (id !== null) {
      this.pendingDeltas.available += available;
      this.pendingDeltas.pending += pending;
      this.pendingDeltas.held += held;
      this.pendingDeltas.debt += debt;
      this.pendingDeltas.frozen += frozen;
    }
    return { entryId: id, lotId: rows[0]?.lot_id ?? null };
  }

  /** Open lots (something left), soonest-expiring first. */
  async openLots(status: LotRow['status']): Promise<LotRow[]> {
    const { rows } = await this.trx.raw<{ rows: LotRow[] }>(
      `SELECT * FROM lots WHERE member_id = ? AND remaining > 0 AND status = ?
       ORDER BY expires_at, id`,
      [this.member.id, status],
    );
    return rows;
  }

  /** Plans a FIFO debit over the active lots (nothing written yet). */
  async planFifo(amount: number, except?: number): Promise<{ takes: Take[]; shortfall: number }> {
    const lots = (await this.openLots('active')).filter((lot) => lot.id !== except);
    return takeFifo(
      lots.map((lot): OpenLot => ({
        id: lot.id,
        remaining: lot.remaining,
        expiresAt: lot.expires_at,
      })),
      amount,
    );
  }

  /** Moves lots by `takes` (negative `sign` debits them) and records each movement. */
  async moveLots(entryId: number, takes: Take[], sign: 1 | -1): Promise<void> {
    if (takes.length === 0) return;
    const ids = takes.map((t) => t.lotId);
    const deltas = takes.map((t) => sign * t.amount);
    await this.trx.raw(
      `WITH moves AS (SELECT * FROM unnest(?::bigint[], ?::bigint[]) AS m(lot_id, delta)),
       updated AS (
         UPDATE lots SET remaining = lots.remaining + moves.delta FROM moves
         WHERE lots.id = moves.lot_id AND lots.member_id = ? RETURNING lots.id)
       INSERT INTO lot_movements (entry_id, lot_id, delta)
       SELECT ?, lot_id, delta FROM moves`,
      [ids, deltas, this.member.id, entryId],
    );
  }

  /** Changes member columns: visible on `member` at once, written by the next `save`. */
  set(columns: Partial<Omit<LedgerMemberRow, 'id'>>): void {
    Object.assign(this.staged, columns);
    this.member = { ...this.member, ...columns };
  }

  /** Queues an INSERT (no RETURNING) to run with the next `save`. */
  defer(sql: string, bindings: unknown[]): void {
    this.deferred.push({ sql, bindings });
  }

  /**
   * Writes the balance changes of this transaction's entries, other member columns, and every
   * deferred insert, in one statement.
   */
  async save(changes: Partial<Omit<LedgerMemberRow, 'id'>> = {}): Promise<LedgerMemberRow> {
    const d = this.pendingDeltas;
    const columns = { ...this.staged, ...changes };
    const sets = Object.keys(columns).map((column) => `, ${column} = ?`);
    const ctes = this.deferred.map((w, i) => `w${i} AS (${w.sql})`);
    const { rows } = await this.trx.raw<{ rows: LedgerMemberRow[] }>(
      `${ctes.length ? `WITH ${ctes.join(',\n')}\n` : ''}UPDATE members SET available = available + ?,
         pending = pending + ?, held = held + ?, debt = debt + ?, frozen = frozen + ?,
         updated_at = ?${sets.join('')}
       WHERE id = ? RETURNING *`,
      [
        ...this.deferred.flatMap((w) => w.bindings),
        d.available,
        d.pending,
        d.held,
        d.debt,
        d.frozen,
        this.now,
        ...Object.values(columns),
        this.member.id,
      ] as never[],
    );
    this.deferred = [];
    this.staged = {};
    this.member = rows[0]!;
    this.pendingDeltas.available = 0;
    this.pendingDeltas.pending = 0;
    this.pendingDeltas.held = 0;
    this.pendingDeltas.debt = 0;
    this.pendingDeltas.frozen = 0;
    return this.member;
  }

  /** Saves whatever is still unsaved (the end of every member transaction). */
  async flush(): Promise<void> {
    const d = this.pendingDeltas;
    const dirty = this.deferred.length || Object.keys(this.staged).length;
    if (dirty || d.available || d.pending || d.held || d.debt || d.frozen) await this.save();
  }

  /**
   * Records a program event once (`dedupeKey`), in this transaction (the webhook outbox); it is
   * written with the next `save`.
   */
  programEvent(type: string, dedupeKey: string, payload: Record<string, unknown>): void {
    this.defer(
      `INSERT INTO program_events (type, member_id, dedupe_key, payload, occurred_at)
       VALUES (?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
      [type, this.member.id, dedupeKey, JSON.stringify(payload), this.now],
    );
  }
}
