/**
 * Published program versions (`rule_sets`). A version never changes once written, so parsed
 * versions are cached by number. Which version is in force, and for whom, is `releases.ts`.
 */
import type { Db, Trx } from '../infra/db';
import { programSchema, type Program, type ProgramInput } from '../domain/program';
import { generalVersion, publishVersion, setGeneralVersion } from './releases';

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

/** The version in force for everyone outside a launch's cohort. */
export async function activeVersion(db: Db | Trx): Promise<number> {
  return generalVersion(db);
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

/**
 * Publishes `input` as the next version and puts it in force for everyone at once, bypassing
 * change control: for the migrations, the benchmarks and tests of the ledger itself. People change
 * rules through a rule change (`changes/`).
 */
export async function publishRuleSet(
  db: Db,
  input: ProgramInput,
  meta: { createdBy: string; description?: string | undefined },
): Promise<RuleSetRow> {
  return db.transaction(async (trx) => {
    const version = await publishVersion(trx, input, meta);
    await setGeneralVersion(trx, version);
    return (await trx<RuleSetRow>('rule_sets').where({ version }).first())!;
  });
}
