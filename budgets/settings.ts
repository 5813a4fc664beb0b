/**
 * The programme's time zone for budget periods (`PROGRAM_TIME_ZONE`), set once by each process
 * from its config: the ledger's writers are called with a database handle only, and threading
 * a setting through every accrual call would touch every caller for one string.
 */
let zone = 'UTC';

export function setBudgetTimeZone(timeZone: string): void {
  zone = timeZone;
}

export const budgetTimeZone = (): string => zone;
