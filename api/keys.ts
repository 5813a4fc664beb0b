import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db } from '../infra/db';
import type { Role } from '../domain/roles';

export interface ApiKeyRow {
  id: string;
  name: string;
  role: Role;
  key_hash: string;
  key_prefix: string;
  created_at: Date;
  revoked_at: Date | null;
}

/**
 * Keys are 256 random bits, so a plain SHA-256 is a sound one-way hash for them (a slow password
 * hash buys nothing against keys that cannot be guessed, and would cost on every request).
 */
export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export async function createApiKey(
  db: Db,
  input: { name: string; role: Role },
): Promise<{ id: string; key: string }> {
  const key = `lok_${randomBytes(32).toString('base64url')}`;
  const id = randomUUID();
  await db<ApiKeyRow>('api_keys').insert({
    id,
    name: input.name,
    role: input.role,
    key_hash: hashKey(key),
    key_prefix: key.slice(0, 10),
  });
  return { id, key };
}

export async function findActiveKey(db: Db, key: string): Promise<ApiKeyRow | undefined> {
  return db<ApiKeyRow>('api_keys')
    .where({ key_hash: hashKey(key) })
    .whereNull('revoked_at')
    .first();
}

export type KeyLookup = (key: string) => Promise<ApiKeyRow | undefined>;

/**
 * `findActiveKey` with the valid keys remembered for `ttlMs`, by hash: saves a round trip on
 * nearly every request. Unknown and revoked keys are never remembered, so a new key works at once
 * and guessing cannot fill the cache; a revocation takes effect within `ttlMs`.
 */
export function cachedKeyLookup(db: Db, ttlMs: number, now = Date.now): KeyLookup {
  if (ttlMs <= 0) return (key) => findActiveKey(db, key);
  const valid = new Map<string, { row: ApiKeyRow; until: number }>();
  return async (key) => {
    const hash = hashKey(key);
    const hit = valid.get(hash);
    if (hit && hit.until > now()) return hit.row;
    valid.delete(hash);
    const row = await db<ApiKeyRow>('api_keys')
      .where({ key_hash: hash })
      .whereNull('revoked_at')
      .first();
    if (row) valid.set(hash, { row, until: now() + ttlMs });
    return row;
  };
}
