/**
 * The `Idempotency-Key` request header, as the IETF draft (draft-ietf-httpapi-idempotency-key-
 * header) describes it. Keys are scoped to the caller's API key. The first request with a key
 * runs and its answer is stored; a repeat with the same key and the same request gets the stored
 * answer (marked `Idempotent-Replayed: true`); the same key with another request is a 422; a
 * repeat while the first is still running is a 409. Answers that say "try again" (409, 5xx) are
 * not stored, so the retry runs for real.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Db } from '../infra/db';
import { hashRequest } from '../ledger/accrual';
import { callerOf } from './auth';
import { Problem } from './problem';

interface KeyRow {
  request_hash: string;
  status_code: number | null;
  response: unknown;
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

export function idempotent(db: Db) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const key = idempotencyKeyOf(req);
    if (key === undefined) return next();
    const owner = callerOf(res).keyId;
    const hash = hashRequest({
      method: req.method,
      path: req.path,
      body: (req.body as unknown) ?? null,
    });
    const inserted = await db('idempotency_keys')
      .insert({ owner, key, request_hash: hash })
      .onConflict(['owner', 'key'])
      .ignore()
      .returning('key');
    if (inserted.length === 0) {
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

    const send = res.json.bind(res);
    res.json = (body: unknown) => {
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
