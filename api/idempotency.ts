/**
 * The `Idempotency-Key` request header, as the IETF draft (draft-ietf-httpapi-idempotency-key-
 * header) describes it. Keys are scoped to the caller's API key. The first request with a key
 * runs and its answer is stored; a repeat with the same key and the same request gets the stored
 * answer (marked `Idempotent-Replayed: true`); the same key with another request is a 422; a
 * repeat while the first is still running is a 409. Answers that say "try again" (409, 5xx) are
 * not stored, so the retry runs for real.
 *
 * Two clocks keep a key from being stuck: a request whose process died before it answered holds its
 * key until that process misses its heartbeats (the key names its holder, infra/api-instance.ts),
 * and in any case for `leaseMs` only (then a repeat runs it again: the work behind every idempotent route is
 * itself exactly-once, by event id, redemption id or dedupe key); and a key is remembered for
 * `ttlMs` after its first use, after which it may be used afresh (the draft's key expiry).
 * The fingerprint is of method, path and the body with its object keys sorted, so the same JSON
 * sent with its fields in another order is the same request (a raw body, e.g. CSV, by its bytes).
 * `route.ts` applies this to every authenticated POST, PUT, PATCH and DELETE.
 */
import type { NextFunction, Request, Response } from 'express';
import type { ApiInstance } from '../infra/api-instance';
import type { Db } from '../infra/db';
import { createHash } from 'node:crypto';
import { callerOf } from './auth';
import { Problem } from './problem';

interface KeyRow {
  request_hash: string;
  status_code: number | null;
  response: unknown;
}

export interface IdempotencyPolicy {
  /** How long an unanswered request keeps its key to itself. */
  leaseMs: number;
  /** How long a key is remembered after its first use. */
  ttlMs: number;
  /** This process, named as the holder of the keys it runs; a dead holder's keys are taken over. */
  instance: Pick<ApiInstance, 'id' | 'staleAfterMs' | 'registered'>;
}

/** JSON with every object's keys in sorted order: one text for one value. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  return Object.fromEntries(entries.map(([k, v]) => [k, canonical(v)]));
}

/** What identifies a request under a key: method, path and the canonical body. */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical({ method, path, body: body ?? null })))
    .digest('hex');
}

const keyPattern = /^"?([\x21\x23-\x7e]{1,255})"?$/;
const header = 'Idempotency-Key';

export function idempotencyKeyOf(req: Request): string | undefined {
  const raw = req.get(header);
  if (raw === undefined) return undefined;
  const match = keyPattern.exec(raw.trim());
  if (!match?.[1]) {
    throw new Problem('bad-request', `${header} must be 1 to 255 visible ASCII characters.`, {
      errors: [{ field: `header.${header}`, message: 'not a valid key' }],
    });
  }
  return match[1];
}

export function idempotent(db: Db, policy: IdempotencyPolicy) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const key = idempotencyKeyOf(req);
    if (key === undefined) return next();
    const owner = callerOf(res).keyId;
    const body: unknown = Buffer.isBuffer(req.body)
      ? { raw: createHash('sha256').update(req.body).digest('hex'), type: req.get('content-type') }
      : req.body;
    const hash = requestFingerprint(req.method, req.path, body);
    if (!(await claim(db, policy, owner, key, hash))) {
      const row = await db<KeyRow & { owner: string; key: string }>('idempotency_keys')
        .where({ owner, key })
        .first();
      if (!row) throw new Problem('conflict', `${header} '${key}' is being released; retry.`);
      if (row.request_hash !== hash) {
        throw new Problem(
          'validation',
          `${header} '${key}' was already used for another request.`,
          {
            errors: [{ field: `header.${header}`, message: 'reused with a different request' }],
          },
        );
      }
      if (row.status_code === null) {
        throw new Problem('conflict', `A request with ${header} '${key}' is still in progress.`, {
          errors: [{ field: `header.${header}`, message: 'the first request is still in flight' }],
        });
      }
      res.status(row.status_code).set('Idempotent-Replayed', 'true');
      if (row.status_code >= 400) res.type('application/problem+json');
      res.json(row.response);
      return;
    }

    // An answer that is not JSON (none of the idempotent routes gives one) is not stored: the key
    // is let go, so a repeat runs again instead of waiting out the lease.
    let stored = false;
    res.on('finish', () => {
      if (!stored) void db('idempotency_keys').where({ owner, key }).delete().catch(next);
    });
    const send = res.json.bind(res);
    res.json = (body: unknown) => {
      stored = true;
      const status = res.statusCode;
      const keep = status < 500 && status !== 409;
      const done = keep
        ? db('idempotency_keys')
            .where({ owner, key })
            .update({ status_code: status, response: JSON.stringify(body) })
        : db('idempotency_keys').where({ owner, key }).delete();
      done.then(
        () => send(body),
        (err: unknown) => next(err),
      );
      return res;
    };
    next();
  };
}

/**
 * Takes the key for this request: a new key; or one past its time to live (forgotten, so used
 * afresh); or one whose request with this same fingerprint never answered, within the lease or
 * held by a process whose heartbeat stopped (it died). One statement, so two racing requests
 * cannot both take it. A key with no holder (taken before holders were recorded) waits the lease.
 */
async function claim(
  db: Db,
  policy: IdempotencyPolicy,
  owner: string,
  key: string,
  hash: string,
): Promise<boolean> {
  await policy.instance.registered(); // a holder the others can see alive
  const { rows } = await db.raw<{ rows: unknown[] }>(
    `INSERT INTO idempotency_keys AS k (owner, key, request_hash, holder) VALUES (?, ?, ?, ?)
     ON CONFLICT (owner, key) DO UPDATE
       SET request_hash = excluded.request_hash, status_code = NULL, response = NULL,
           created_at = now(), holder = excluded.holder
       WHERE k.created_at < now() - make_interval(secs => ?)
          OR (k.status_code IS NULL AND k.request_hash = excluded.request_hash
              AND (k.created_at < now() - make_interval(secs => ?)
                   OR (k.holder IS NOT NULL AND NOT EXISTS (
                         SELECT 1 FROM api_instances i
                          WHERE i.id = k.holder
                            AND i.heartbeat_at > now() - make_interval(secs => ?)))))
     RETURNING 1`,
    [
      owner,
      key,
      hash,
      policy.instance.id,
      policy.ttlMs / 1000,
      policy.leaseMs / 1000,
      policy.instance.staleAfterMs / 1000,
    ],
  );
  return rows.length === 1;
}
