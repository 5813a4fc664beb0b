/**
 * `budget.warning` (each configured percentage) and `budget.exhausted` (100 %) as programme
 * events, in the transaction that counted the usage, once per budget, period and threshold (the
 * outbox's `dedupe_key`), so partner webhooks hear of them like any other event. Thresholds this
 * process saw already written are not tried again.
 */
import { reached, shown, type BudgetRule } from '../domain/budgets';
import type { Trx } from '../infra/db';

const written = new Set<string>();

export interface Usage {
  rule: BudgetRule;
  period: string;
  used: number;
}

const keysOf = (rule: BudgetRule, period: string, used: number): string[] => {
  const { warnings, exhausted } = reached(rule, used);
  return [
    ...warnings.map((percent) => `budget.warning:${rule.key}:${period}:${percent}`),
    ...(exhausted ? [`budget.exhausted:${rule.key}:${period}`] : []),
  ];
};

/** Whether `used` reaches a threshold this process has not seen written yet. */
export const unwrittenCrossing = (rule: BudgetRule, period: string, used: number): boolean =>
  keysOf(rule, period, used).some((key) => !written.has(key));

export async function recordCrossings(trx: Trx, usages: Usage[], now: Date): Promise<void> {
  const events: { type: string; key: string; payload: Record<string, unknown> }[] = [];
  for (const { rule, period, used } of usages) {
    const { warnings, exhausted } = reached(rule, used);
    const base = {
      budget: rule.key,
      kind: rule.kind,
      period,
      limit: rule.money?.limit ?? shown(rule, rule.limit),
      used: shown(rule, used),
      atLimit: rule.atLimit,
      ...(rule.rewardId ? { rewardId: rule.rewardId } : {}),
      ...(rule.campaign ? { campaign: rule.campaign } : {}),
      ...(rule.currency ? { currency: rule.currency } : {}),
    };
    for (const percent of warnings) {
      const key = `budget.warning:${rule.key}:${period}:${percent}`;
      if (!written.has(key))
        events.push({ type: 'budget.warning', key, payload: { ...base, percent } });
    }
    const key = `budget.exhausted:${rule.key}:${period}`;
    if (exhausted && !written.has(key))
      events.push({ type: 'budget.exhausted', key, payload: { ...base, percent: 100 } });
  }
  if (events.length === 0) return;
  const { rows } = await trx.raw<{ rows: { dedupe_key: string }[] }>(
    `INSERT INTO program_events (type, dedupe_key, payload, occurred_at)
     SELECT type, key, payload::jsonb, ? FROM unnest(?::text[], ?::text[], ?::text[])
       AS e(type, key, payload)
     ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key`,
    [
      now,
      events.map((e) => e.type),
      events.map((e) => e.key),
      events.map((e) => JSON.stringify(e.payload)),
    ],
  );
  // Already there (written by a committed transaction): no need to try again in this process.
  const inserted = new Set(rows.map((r) => r.dedupe_key));
  for (const e of events) if (!inserted.has(e.key)) written.add(e.key);
}
