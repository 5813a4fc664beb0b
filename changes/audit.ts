/**
 * The audit trail of change control: every transition of a rule change, a simulation or a launch,
 * with who, when and why. Written in the same transaction as the change it records.
 */
import type { Db, Trx } from '../infra/db';

export type AuditSubject = 'rule-change' | 'simulation' | 'launch';

export interface AuditEntry {
  subject: AuditSubject;
  subjectId: string;
  action: string;
  from?: string | null | undefined;
  to?: string | null | undefined;
  actor: string;
  reason?: string | null | undefined;
  details?: Record<string, unknown> | undefined;
  /** Defaults to the database's clock. */
  at?: Date | undefined;
}

export interface AuditRow {
  id: number;
  subject: AuditSubject;
  subject_id: string;
  action: string;
  from_state: string | null;
  to_state: string | null;
  actor: string;
  reason: string | null;
  details: Record<string, unknown>;
  at: Date;
}

export async function recordAudit(trx: Trx | Db, entry: AuditEntry): Promise<AuditRow> {
  const [row] = await trx<AuditRow>('change_audit')
    .insert({
      subject: entry.subject,
      subject_id: entry.subjectId,
      action: entry.action,
      from_state: entry.from ?? null,
      to_state: entry.to ?? null,
      actor: entry.actor,
      reason: entry.reason ?? null,
      details: JSON.stringify(entry.details ?? {}) as unknown as Record<string, unknown>,
      ...(entry.at ? { at: entry.at } : {}),
    })
    .returning('*');
  return row!;
}

/** A subject's trail, oldest first. */
export async function auditTrail(
  db: Db | Trx,
  subject: AuditSubject,
  subjectId: string,
): Promise<AuditRow[]> {
  return db<AuditRow>('change_audit')
    .where({ subject, subject_id: subjectId })
    .orderBy('id', 'asc');
}

/** The API's view of an audit row. */
export const auditView = (row: AuditRow) => ({
  at: row.at.toISOString(),
  action: row.action,
  from: row.from_state,
  to: row.to_state,
  actor: row.actor,
  reason: row.reason,
  details: row.details,
});
