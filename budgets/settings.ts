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

/**
 * The cost of a point per currency (`POINT_COST`), which values the liability ceiling, set once
 * by each process from its config for the same reason.
 */
let cost: Record<string, number> = { EUR: 0.01, USD: 0.01, GBP: 0.01 };

export function setPointCost(pointCost: Record<string, number>): void {
  cost = pointCost;
}

export const pointCost = (): Record<string, number> => cost;
