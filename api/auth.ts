import type { NextFunction, Request, Response } from 'express';
import type { Db } from '../infra/db';
import { roleAllows, type Role } from '../domain/roles';
import type { KeyLookup } from './keys';
import { Problem } from './problem';

export interface AuthDeps {
  db: Db;
  findKey: KeyLookup;
}

export interface Caller {
  keyId: string;
  name: string;
  role: Role;
}

/** `Authorization: Bearer <key>`; 401 without a valid key, 403 when its role is not enough. */
export function authenticate(deps: AuthDeps, required: Role) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) {
      res.set('WWW-Authenticate', 'Bearer');
      throw new Problem('unauthorized', 'Send an API key as `Authorization: Bearer <key>`.');
    }
    const key = await deps.findKey(match[1]);
    if (!key) {
      res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw new Problem('unauthorized', 'The API key is unknown or revoked.');
    }
    if (!roleAllows(key.role, required)) {
      throw new Problem(
        'forbidden',
        `This route needs the '${required}' role; the key has '${key.role}'.`,
      );
    }
    const caller: Caller = { keyId: key.id, name: key.name, role: key.role };
    res.locals.caller = caller;
    next();
  };
}

export function callerOf(res: Response): Caller {
  return res.locals.caller as Caller;
}
