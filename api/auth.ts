import type { NextFunction, Request, Response } from 'express';
import type { Db } from '../infra/db';
import { roleAllows, type Role } from '../domain/roles';
import type { KeyLookup } from './keys';
import { Problem } from './problem';
import { csrfHeader, csrfMatches, findSession, sessionTokenOf } from './sessions';

export interface AuthDeps {
  db: Db;
  findKey: KeyLookup;
}

export interface Caller {
  keyId: string;
  name: string;
  role: Role;
  /** Set when the caller came with the console's session cookie rather than a Bearer key. */
  session?: { id: string; token: string; expiresAt: Date };
}

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * `Authorization: Bearer <key>`, or the console's session cookie; 401 without a valid one, 403
 * when its role is not enough. Both go through the same role check. A cookie-authenticated
 * request that changes something must also carry the session's `X-CSRF-Token` and, when the
 * browser sends an Origin, come from this origin.
 */
export function authenticate(
  deps: AuthDeps,
  required: Role,
  options: {
    /** Origins whose session-cookie requests need no CSRF token (routes that change nothing). */
    crossOrigins?: readonly string[];
  } = {},
) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const caller = req.get('authorization')
      ? await bearerCaller(deps, req, res)
      : await sessionCaller(deps, req, res, options.crossOrigins ?? []);
    if (!roleAllows(caller.role, required)) {
      throw new Problem(
        'forbidden',
        `This route needs the '${required}' role; the ${caller.session ? 'session' : 'key'} has '${caller.role}'.`,
      );
    }
    res.locals.caller = caller;
    next();
  };
}

async function bearerCaller(deps: AuthDeps, req: Request, res: Response): Promise<Caller> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
  if (!match?.[1]) {
    res.set('WWW-Authenticate', 'Bearer');
    throw new Problem('unauthorized', 'Send an API key as `Authorization: Bearer <key>`.');
  }
  const key = await deps.findKey(match[1]);
  if (!key) {
    res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
    throw new Problem('unauthorized', 'The API key is unknown or revoked.');
  }
  return { keyId: key.id, name: key.name, role: key.role };
}

async function sessionCaller(
  deps: AuthDeps,
  req: Request,
  res: Response,
  crossOrigins: readonly string[],
): Promise<Caller> {
  const token = sessionTokenOf(req);
  if (!token) {
    res.set('WWW-Authenticate', 'Bearer');
    throw new Problem(
      'unauthorized',
      'Send an API key as `Authorization: Bearer <key>`, or sign in to the console.',
    );
  }
  const session = await findSession(deps.db, token);
  if (!session) {
    res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
    throw new Problem('unauthorized', 'The session has expired or ended: sign in again.');
  }
  const origin = req.get('origin');
  const trusted = origin !== undefined && crossOrigins.includes(origin);
  if (!safeMethods.has(req.method) && !trusted) {
    if (origin !== undefined && !sameOrigin(origin, req)) {
      throw new Problem('forbidden', `Requests from origin ${origin} may not use this session.`);
    }
    if (!csrfMatches(token, req.get(csrfHeader))) {
      throw new Problem(
        'forbidden',
        'A request made with the session cookie that changes something needs the X-CSRF-Token header from GET /session.',
        { errors: [{ field: 'X-CSRF-Token', message: 'missing or wrong' }] },
      );
    }
  }
  return {
    keyId: session.keyId,
    name: session.name,
    role: session.role,
    session: { id: session.id, token, expiresAt: session.expiresAt },
  };
}

const sameOrigin = (origin: string, req: Request): boolean =>
  URL.canParse(origin) && new URL(origin).host === req.get('host');

export function callerOf(res: Response): Caller {
  return res.locals.caller as Caller;
}
