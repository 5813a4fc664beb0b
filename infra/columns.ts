/**
 * Columns one module adds to a statement another owns: the CTEs they need, their select-list
 * items, their named bindings (each part prefixes its own names, so parts never collide) and how
 * the part reads its answer back from the row. The accrual batch reads its own rows, the screen's
 * history and the budget gate in one round trip this way, where each used to take its own.
 */
import type { Db, Trx } from './db';

export interface Columns<T> {
  /** `name AS (...)` clauses, in the order they must run (a CTE may name an earlier one). */
  with?: string[];
  /** `expression AS alias` items. */
  select: string[];
  bindings: Record<string, unknown>;
  parse(row: Record<string, unknown>): T;
}

/** A part that reads nothing and answers `value`. */
export const constant = <T>(value: T): Columns<T> => ({
  select: [],
  bindings: {},
  parse: () => value,
});

/** Several parts as one, answering `join` of their answers. */
export function joinColumns<T extends unknown[], R>(
  parts: { [K in keyof T]: Columns<T[K]> },
  join: (...values: T) => R,
): Columns<R> {
  const all = parts as Columns<unknown>[];
  return {
    with: all.flatMap((p) => p.with ?? []),
    select: all.flatMap((p) => p.select),
    bindings: Object.assign({}, ...all.map((p) => p.bindings)) as Record<string, unknown>,
    parse: (row) => join(...(all.map((p) => p.parse(row)) as T)),
  };
}

/** Runs `part` as one `WITH ... SELECT ...` (no columns: no statement at all). */
export async function selectColumns<T>(db: Db | Trx, part: Columns<T>): Promise<T> {
  if (part.select.length === 0) return part.parse({});
  const ctes = part.with ?? [];
  const { rows } = await db.raw<{ rows: Record<string, unknown>[] }>(
    `${ctes.length ? `WITH ${ctes.join(',\n')}\n` : ''}SELECT ${part.select.join(',\n')}`,
    part.bindings,
  );
  return part.parse(rows[0]!);
}

/** Rows grouped by `key`, each turned into `value`, in the rows' order. */
export function groupBy<R, V>(
  rows: R[],
  key: (row: R) => string,
  value: (row: R) => V,
): Map<string, V[]> {
  const out = new Map<string, V[]>();
  for (const row of rows) {
    const k = key(row);
    const list = out.get(k);
    if (list) list.push(value(row));
    else out.set(k, [value(row)]);
  }
  return out;
}
