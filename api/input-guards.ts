/**
 * What every path, query and body value is held to before a route sees it, whatever its schema
 * says (api/route.ts applies these): numbers within what their Postgres column holds, and no NUL
 * character, which Postgres stores in neither `text` nor `jsonb`.
 */
import { z } from 'zod';

/**
 * The largest number a path or query parameter may be unless its schema is stricter (`.max()`):
 * Postgres' `integer`, so `/rule-sets/9007199254740990` is a 404, not a 500 from the database.
 * A parameter naming a `bigint` column is a `bigintId()` instead (up to 2^53 - 1).
 */
export const pgIntegerMax = 2_147_483_647;

const bigintSchemas = new WeakSet<z.ZodType>();

/** A path or query id of a Postgres `bigint` column: any safe integer from `min`. */
export function bigintId(min = 1): z.ZodCoercedNumber<unknown> {
  const schema = z.coerce.number().int().min(min);
  bigintSchemas.add(schema);
  return schema;
}

/** The schema under `.optional()`, `.default()`, `.describe()` and the like. */
function innermost(schema: z.ZodType): z.ZodType {
  let inner = schema;
  for (;;) {
    const def = inner._zod.def as { innerType?: z.ZodType };
    if (!def.innerType) return inner;
    inner = def.innerType;
  }
}

/** The number fields of `schema` that the `integer` bound applies to. */
export function unboundedNumbers(schema: z.ZodObject | undefined): string[] {
  if (!schema) return [];
  return Object.entries(schema.shape).flatMap(([name, field]) => {
    const inner = innermost(field as z.ZodType);
    if (!(inner instanceof z.ZodNumber) || bigintSchemas.has(inner)) return [];
    const strict =
      (inner.maxValue ?? Infinity) <= pgIntegerMax &&
      (inner.minValue ?? -Infinity) >= -pgIntegerMax - 1;
    return strict ? [] : [name];
  });
}

/** The first of `fields` in `values` that is a number beyond the Postgres `integer` range. */
export function outOfRange(values: Record<string, unknown>, fields: string[]): string | undefined {
  return fields.find((name) => {
    const value = values[name];
    return typeof value === 'number' && (value > pgIntegerMax || value < -pgIntegerMax - 1);
  });
}

/**
 * Where a NUL character is in `value` (a string, or an object's key or value at any depth), as
 * a field path: Postgres takes no NUL in `text` or `jsonb`, so one must be refused at the edge.
 */
export function nulAt(value: unknown, at: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? at : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, inner] of Object.entries(value)) {
    const field = Array.isArray(value) ? `${at}[${key}]` : at ? `${at}.${key}` : key;
    if (key.includes('\u0000')) return field;
    const found = nulAt(inner, field);
    if (found) return found;
  }
  return undefined;
}

export const nulRefused = 'must not contain NUL characters';
