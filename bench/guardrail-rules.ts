/**
 * `bench:accrual --guardrails`: the same phases with the earning guardrails on (issue #13 wants
 * accrual throughput with detection and budgets within 10 % of the same run without). Installs a
 * programme version whose earning detectors (earningVelocity, unusualCountry, impossibleTravel),
 * points budgets (per day and month) and liability ceiling are all on, with thresholds and limits
 * so high that nothing is frozen or cut: every check runs, none fires. The version goes in force
 * directly on the stack's database (as the benches and ledger tests do, bypassing change
 * control); the version that was in force is put back afterwards.
 */
import { loadConfig } from '../config';
import type { ProgramInput } from '../domain/program';
import { createDb } from '../infra/db';
import { loadRuleSet, publishRuleSet } from '../ledger/programs';

/** Limits no bench run reaches: the largest each setting accepts. */
const huge = { points: 1_000_000_000_000, count: 1_000_000_000, money: 1e12 };

/**
 * The programme with the guardrails on; `BENCH_GUARDRAILS_ONLY=detectors` or `=budgets` turns on
 * only that half (to see which costs what).
 */
export function guardedProgram(program: ProgramInput, currency: string): ProgramInput {
  const only = process.env.BENCH_GUARDRAILS_ONLY;
  if (only === 'detectors' || only === 'budgets') {
    const all = guardedProgramAll(program, currency);
    return only === 'detectors'
      ? { ...all, budgets: program.budgets }
      : { ...all, detection: program.detection };
  }
  return guardedProgramAll(program, currency);
}

function guardedProgramAll(program: ProgramInput, currency: string): ProgramInput {
  const velocity = (window: string) => ({
    window,
    maxPoints: huge.count,
    maxEvents: huge.count,
  });
  const points = { limit: huge.points, atLimit: 'stopEarning' as const };
  return {
    ...program,
    detection: {
      ...program.detection,
      earningVelocity: [velocity('1 hour'), velocity('1 day')],
      // Every bench event is from DE: seen before from the second event on, never unusual.
      unusualCountry: { minHistory: 1, maxShare: 0 },
      impossibleTravel: { maxKmPerHour: 100_000, minKm: 100 },
    },
    budgets: {
      ...program.budgets,
      points: { perDay: points, perMonth: points },
      liability: { currency, limit: huge.money, atLimit: 'stopEarning' },
    },
  };
}

/**
 * Puts the guarded version in force on `databaseUrl`; answers a function that puts the version
 * that was in force before back (as a new version with its policy).
 */
export async function installGuardrails(databaseUrl: string): Promise<() => Promise<void>> {
  const db = createDb({ url: databaseUrl, poolMax: 2 });
  try {
    const before = await loadRuleSet(db);
    const currency = Object.keys(loadConfig().POINT_COST)[0] ?? 'EUR';
    const guarded = await publishRuleSet(db, guardedProgram(before.program, currency), {
      createdBy: 'bench:accrual',
      description: 'bench:accrual --guardrails: detectors and budgets on, nothing fires',
    });
    console.log(
      `guardrails on: programme version ${guarded.version} (detectors, points budgets, liability ceiling in ${currency})`,
    );
    return async () => {
      const again = createDb({ url: databaseUrl, poolMax: 2 });
      try {
        const back = await publishRuleSet(again, before.program, {
          createdBy: 'bench:accrual',
          description: `bench:accrual --guardrails done: version ${before.version}'s policy again`,
        });
        console.log(`guardrails off: version ${back.version} = version ${before.version}'s policy`);
      } finally {
        await again.destroy();
      }
    };
  } finally {
    await db.destroy();
  }
}
