/**
 * A finding recorded: a row in `anomaly_findings` and an `anomaly.detected` programme event
 * (webhooks), in one transaction, once per dedupe key. Counted per detector in this process for
 * `/metrics` (the table is the durable count).
 */
import type { Db, Trx } from '../infra/db';
import type { DetectorName, Finding } from './detectors';

export interface FindingRow {
  id: number;
  detector: DetectorName;
  member_id: string | null;
  subject: string;
  seen: Record<string, unknown>;
  threshold: Record<string, unknown>;
  why: string;
  rule_version: number | null;
  at: Date;
}

const isTrx = (db: Db | Trx): db is Trx => (db as Trx).isTransaction === true;

const counts = new Map<string, number>();

/** Findings recorded by this process, by detector (Prometheus counter). */
export const findingCounts = (): ReadonlyMap<string, number> => counts;

/** `key` distinguishes findings of one detector about one subject (e.g. the window). */
export const dedupeKeyOf = (f: Finding): string =>
  `anomaly:${f.detector}:${f.subject}:${JSON.stringify(f.threshold)}`;

export async function recordFindings(
  db: Db | Trx,
  findings: Finding[],
  ruleVersion: number | null,
): Promise<FindingRow[]> {
  if (findings.length === 0) return [];
  const write = async (trx: Trx): Promise<FindingRow[]> => {
    const rows: FindingRow[] = [];
    for (const f of findings) {
      const key = dedupeKeyOf(f);
      const [row] = await trx<FindingRow>('anomaly_findings')
        .insert({
          detector: f.detector,
          member_id: f.memberId ?? null,
          subject: f.subject,
          seen: JSON.stringify(f.seen) as never,
          threshold: JSON.stringify(f.threshold) as never,
          why: f.why,
          rule_version: ruleVersion,
          dedupe_key: key,
          at: f.at,
        } as never)
        .onConflict('dedupe_key')
        .ignore()
        .returning('*');
      if (!row) continue;
      rows.push(row);
      await trx('program_events')
        .insert({
          type: 'anomaly.detected',
          member_id: f.memberId ?? null,
          dedupe_key: key,
          payload: JSON.stringify({
            findingId: row.id,
            detector: f.detector,
            memberId: f.memberId ?? null,
            subject: f.subject,
            seen: f.seen,
            threshold: f.threshold,
            why: f.why,
          }),
          occurred_at: f.at,
        })
        .onConflict('dedupe_key')
        .ignore();
    }
    return rows;
  };
  const rows = isTrx(db) ? await write(db) : await db.transaction(write);
  for (const r of rows) counts.set(r.detector, (counts.get(r.detector) ?? 0) + 1);
  return rows;
}

export interface FindingFilter {
  memberId?: string | undefined;
  detector?: DetectorName | undefined;
  /** Found at or after this time. */
  since?: Date | undefined;
  /** The page after this finding (its id), newest first. */
  after?: number | undefined;
  limit: number;
}

/** Findings newest first (by time, then id), one page. */
export async function listFindings(db: Db, filter: FindingFilter): Promise<FindingRow[]> {
  const q = db<FindingRow>('anomaly_findings')
    .orderBy([
      { column: 'at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(filter.limit);
  if (filter.memberId) void q.where('member_id', filter.memberId);
  if (filter.detector) void q.where('detector', filter.detector);
  if (filter.since) void q.where('at', '>=', filter.since);
  if (filter.after !== undefined) {
    void q.whereRaw('(at, id) < (SELECT f.at, f.id FROM anomaly_findings f WHERE f.id = ?)', [
      filter.after,
    ]);
  }
  return q;
}

export async function findingExists(db: Db, id: number): Promise<boolean> {
  return !!(await db('anomaly_findings').where({ id }).first('id'));
}
