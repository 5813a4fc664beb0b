/**
 * Console sessions: an API key exchanged for a session token carried in an HttpOnly cookie. The
 * token is 256 random bits stored as a SHA-256 hash (like the keys: nothing secret is compared
 * in JS, the database finds the row by hash). A session answers for its key's name and role, and
 * ends when it expires, on sign-out, and the moment its key is revoked (the lookup joins the key).
 *
 * CSRF: the cookie is SameSite=Strict, and a request authenticated by the cookie that changes
 * something must also send `X-CSRF-Token`, a value derived from the session token that only a
 * page that read `GET /session` (same origin) can know.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Role } from '../domain/roles';
import type { Db } from '../infra/db';
import { hashKey } from './keys';

export const sessionCookie = 'loyalty_session';
export const csrfHeader = 'x-csrf-token';

export interface SessionRow {
  id: string;
  token_hash: string;
  key_id: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

export interface ActiveSession {
  id: string;
  keyId: string;
  name: string;
  role: Role;
  expiresAt: Date;
}

/** The CSRF token of a session: bound to it, and not the token itself. */
export function csrfTokenFor(token: string): string {
  return createHash('sha256').update(`csrf\n${token}`, 'utf8').digest('base64url');
}

export function csrfMatches(token: string, given: string | undefined): boolean {
  if (!given) return false;
  const wanted = Buffer.from(csrfTokenFor(token));
  const got = Buffer.from(given);
  return wanted.length === got.length && timingSafeEqual(wanted, got);
}

export async function createSession(
  db: Db,
  keyId: string,
  ttlMinutes: number,
): Promise<{ token: string; expiresAt: Date }> {
  // Sessions a day past their end are of no use, even to explain a 401: forgotten at sign-in.
  await db<SessionRow>('sessions')
    .where('expires_at', '<', db.raw(`now() - interval '1 day'`))
    .delete();
  const token = `los_${randomBytes(32).toString('base64url')}`;
  const now = new Date();
  const expiresAt = new Date(now.getTime() + ttlMinutes * 60_000);
  await db<SessionRow>('sessions').insert({
    id: randomUUID(),
    token_hash: hashKey(token),
    key_id: keyId,
    created_at: now,
    expires_at: expiresAt,
  });
  return { token, expiresAt };
}

/** The live session of a token: not expired, not signed out, its key not revoked. */
export async function findSession(db: Db, token: string): Promise<ActiveSession | undefined> {
  const row = await db('sessions as s')
    .join('api_keys as k', 'k.id', 's.key_id')
    .where('s.token_hash', hashKey(token))
    .whereNull('s.revoked_at')
    .whereNull('k.revoked_at')
    .where('s.expires_at', '>', db.fn.now())
    .first<{ id: string; key_id: string; name: string; role: Role; expires_at: Date } | undefined>(
      's.id',
      's.key_id',
      'k.name',
      'k.role',
      's.expires_at',
    );
  return (
    row && {
      id: row.id,
      keyId: row.key_id,
      name: row.name,
      role: row.role,
      expiresAt: row.expires_at,
    }
  );
}

export async function revokeSession(db: Db, token: string): Promise<void> {
  await db<SessionRow>('sessions')
    .where({ token_hash: hashKey(token) })
    .whereNull('revoked_at')
    .update({ revoked_at: new Date() });
}

/** The session token from the Cookie header, if any (no cookie parser needed for one cookie). */
export function sessionTokenOf(req: Request): string | undefined {
  const header = req.get('cookie');
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    if (part.slice(0, at).trim() === sessionCookie) {
      const value = part.slice(at + 1).trim();
      return /^los_[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

/**
 * Over https, directly or behind a proxy that terminates TLS and says so. A forged
 * X-Forwarded-Proto can only add the Secure flag, which makes the cookie stricter, never looser.
 */
const servedOverHttps = (req: Request): boolean =>
  req.secure || req.get('x-forwarded-proto')?.split(',')[0]?.trim() === 'https';

function cookieAttributes(req: Request, maxAgeSeconds: number): string {
  return [
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    ...(servedOverHttps(req) ? ['Secure'] : []),
    `Max-Age=${maxAgeSeconds}`,
  ].join('; ');
}

export function setSessionCookie(req: Request, res: Response, token: string, expiresAt: Date) {
  const maxAge = Math.max(0, Math.round((expiresAt.getTime() - Date.now()) / 1000));
  res.append('Set-Cookie', `${sessionCookie}=${token}; ${cookieAttributes(req, maxAge)}`);
}

export function clearSessionCookie(req: Request, res: Response) {
  res.append('Set-Cookie', `${sessionCookie}=; ${cookieAttributes(req, 0)}`);
}
