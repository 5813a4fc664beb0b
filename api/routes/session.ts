import { z } from 'zod';
import type { Request } from 'express';
import type { AppConfig } from '../../config';
import { roleAllows } from '../../domain/roles';
import type { Db } from '../../infra/db';
import { callerOf, type Caller } from '../auth';
import { findActiveKey } from '../keys';
import { Problem } from '../problem';
import { defineRoute, type RouteSpec } from '../route';
import {
  clearSessionCookie,
  createSession,
  csrfTokenFor,
  revokeSession,
  setSessionCookie,
} from '../sessions';

export interface SessionDeps {
  db: Db;
  config: AppConfig;
  /** Every route, to say which operations a role may call. */
  routes: () => RouteSpec[];
}

const sessionView = z.object({
  name: z.string().describe('The name of the API key signed in with.'),
  role: z.enum(['admin', 'ops', 'readonly']),
  expiresAt: z.iso.datetime().nullable().describe('Null when asked with a Bearer key.'),
  csrfToken: z
    .string()
    .nullable()
    .describe(
      'Send as `X-CSRF-Token` on every cookie-authenticated request that changes something.',
    ),
  allowedOperations: z
    .array(z.string())
    .describe('The operationIds this role may call (the server checks each call regardless).'),
});

/** The API key is this route's proof of who calls: without one it is a 401, like a missing key. */
function verifyApiKeyGiven(req: Request): void {
  const body = req.body as { apiKey?: unknown } | undefined;
  if (typeof body?.apiKey !== 'string' || !body.apiKey) {
    throw new Problem('unauthorized', 'Send your API key as `apiKey` to sign in.', {
      errors: [{ field: 'apiKey', message: 'is required' }],
    });
  }
}

export function sessionRoutes(deps: SessionDeps): RouteSpec[] {
  const view = (caller: Pick<Caller, 'name' | 'role' | 'session'>, token?: string) => ({
    name: caller.name,
    role: caller.role,
    expiresAt: caller.session?.expiresAt.toISOString() ?? null,
    csrfToken: token ? csrfTokenFor(token) : null,
    allowedOperations: deps
      .routes()
      .filter((route) => route.auth !== 'public' && roleAllows(caller.role, route.auth))
      .map((route) => route.operationId),
  });
  return [
    defineRoute({
      method: 'post',
      path: '/session',
      operationId: 'signIn',
      summary: 'Sign in to the console: an API key exchanged for an HttpOnly session cookie',
      tag: 'Session',
      auth: 'public',
      body: z.strictObject({ apiKey: z.string().min(1).max(200) }),
      verify: verifyApiKeyGiven,
      responses: {
        201: {
          description: 'Signed in: `Set-Cookie` carries the session (HttpOnly, SameSite=Strict).',
          schema: sessionView,
        },
        401: { description: 'The API key is unknown or revoked.' },
        403: { description: 'Partner keys cannot sign in to the console.' },
      },
      handler: async ({ body }, req, res) => {
        const key = await findActiveKey(deps.db, body.apiKey);
        if (!key) {
          throw new Problem('unauthorized', 'That API key is unknown or has been revoked.', {
            errors: [{ field: 'apiKey', message: 'unknown or revoked' }],
          });
        }
        if (key.role === 'partner') {
          throw new Problem('forbidden', 'Partner keys are for integrations, not the console.', {
            errors: [{ field: 'apiKey', message: 'partner keys cannot sign in' }],
          });
        }
        const { token, expiresAt } = await createSession(
          deps.db,
          key.id,
          deps.config.SESSION_TTL_MINUTES,
        );
        setSessionCookie(req, res, token, expiresAt);
        res.set('Cache-Control', 'no-store');
        res.status(201).json(view({ ...key, session: { id: '', token, expiresAt } }, token));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/session',
      operationId: 'getSession',
      summary: 'Who is signed in: name, role, expiry, the CSRF token and what the role may do',
      tag: 'Session',
      auth: 'readonly',
      responses: { 200: { description: 'The session (or the Bearer key).', schema: sessionView } },
      handler: (_input, _req, res) => {
        const caller = callerOf(res);
        res.set('Cache-Control', 'no-store');
        res.json(view(caller, caller.session?.token));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/session',
      operationId: 'signOut',
      summary: 'Sign out: the session ends at once and its cookie is cleared',
      tag: 'Session',
      auth: 'readonly',
      // Signing out twice is harmless and a stored answer would outlive the session it ended.
      idempotent: false,
      responses: { 204: { description: 'Signed out.' } },
      handler: async (_input, req, res) => {
        const caller = callerOf(res);
        if (caller.session) await revokeSession(deps.db, caller.session.token);
        clearSessionCookie(req, res);
        res.status(204).end();
      },
    }),
  ];
}
