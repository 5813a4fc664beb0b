/**
 * Published program versions (`rule_sets`). A version never changes once written, so parsed
 * versions are cached by number; the newest version is the active one.
 */
import type { Db, Trx } from '../infra/db';
import { programSchema, type Program, type ProgramInput } from '../domain/program';

export interface RuleSetRow {
  version: number;
  program: unknown;
  description: string | null;
  created_by: string;
  created_at: Date;
}

export interface RuleSet {
  version: number;
  program: Program;
}

const parsed = new Map<number, Program>();

export async function activeVersion(db: Db | Trx): Promise<number> {
  const { rows } = await db.raw<{ rows: { version: number | null }[] }>(
    'SELECT max(version) AS version FROM rule_sets',
  );
  const version = rows[0]?.version;
  if (version == null) throw new Error('no rule set published: run the migrations');
  return version;
}

export async function loadRuleSet(db: Db | Trx, version?: number): Promise<RuleSet> {
  const wanted = version ?? (await activeVersion(db));
  let program = parsed.get(wanted);
  if (!program) {
    const row = await db<RuleSetRow>('rule_sets').where({ version: wanted }).first();
    if (!row) throw new Error(`rule set version ${wanted} not found`);
    program = programSchema.parse(row.program);
    parsed.set(wanted, program);
  }
  return { version: wanted, program };
}

/** Publishes `input` as the next version, which becomes active at once. */
export async function publishRuleSet(
  db: Db,
  input: ProgramInput,
  meta: { createdBy: string; description?: string | undefined },
): Promise<RuleSetRow> {
  const program = programSchema.parse(input);
  return db.transaction(async (trx) => {
    // One publisher at a time, so versions are gap-free and in order.
    await trx.raw('LOCK TABLE rule_sets IN SHARE ROW EXCLUSIVE MODE');
    const version = (await activeVersion(trx)) + 1;
    const [row] = await trx<RuleSetRow>('rule_sets')
      .insert({
        version,
        program: JSON.stringify(program) as unknown as Program,
        description: meta.description ?? null,
        created_by: meta.createdBy,
      })
      .returning('*');
    return row!;
  });
}
