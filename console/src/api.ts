/**
 * The console's one way to the API: same origin, the session cookie, the CSRF header on every
 * request that changes something, and problem+json errors turned into `ApiError`s. The types come
 * from the API's OpenAPI document (src/generated/openapi.d.ts, written by stack/console.ts).
 */
import type { paths } from './generated/openapi';

type JsonOf<R> = R extends { content: { 'application/json': infer Body } } ? Body : never;

export type Session = JsonOf<paths['/session']['get']['responses'][200]>;
export type RedemptionPage = JsonOf<paths['/redemptions']['get']['responses'][200]>;
/** A queue row, with its SLA deadline and whether it is at risk of breaching it. */
export type RedemptionRow = RedemptionPage['redemptions'][number];
export type RedemptionStatus = RedemptionRow['status'];
export type RedemptionQuery = NonNullable<paths['/redemptions']['get']['parameters']['query']>;
export type RedemptionCounts = JsonOf<paths['/redemptions/counts']['get']['responses'][200]>;
export type CountQuery = NonNullable<paths['/redemptions/counts']['get']['parameters']['query']>;
/** One redemption as ops read it: timeline with actors and reasons, member, reward, fulfilment. */
export type RedemptionDetail = JsonOf<paths['/redemptions/{id}']['get']['responses'][200]>;
export type TimelineEntry = RedemptionDetail['timeline'][number];
export type RedemptionAction = RedemptionDetail['allowedActions'][number];
export type Fulfilment = RedemptionDetail['fulfilment'];
export type Member = JsonOf<paths['/members/{id}']['get']['responses'][200]>;
export type Reward = JsonOf<paths['/rewards/{id}']['get']['responses'][200]>;

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: { field: string; message: string }[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail ?? problem.title ?? `The API answered ${status}.`);
    this.name = 'ApiError';
  }
}

let csrfToken: string | null = null;
let onSessionEnded: () => void = () => {};

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when the API says the session is gone (401), so the console shows the sign-in page. */
export function whenSessionEnds(callback: () => void): void {
  onSessionEnded = callback;
}

export interface RequestOptions {
  /** Empty values are left out; a list is sent as the parameter repeated. */
  query?: Record<string, string | string[] | number | undefined>;
  body?: unknown;
  idempotencyKey?: string;
}

export async function request<T>(
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  options: RequestOptions = {},
): Promise<T> {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(options.query ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined && one !== '') params.append(name, String(one));
    }
  }
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  let response: Response;
  try {
    response = await fetch(`${path}${params.size ? `?${params.toString()}` : ''}`, {
      method,
      headers,
      credentials: 'same-origin',
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  } catch {
    throw new ApiError(0, { title: 'The API cannot be reached. Check that it is running.' });
  }
  const text = await response.text();
  const body: unknown = text ? JSON.parse(text) : undefined;
  if (!response.ok) {
    const problem = (body ?? { title: response.statusText }) as Problem;
    if (response.status === 401 && path !== '/session') onSessionEnded();
    throw new ApiError(response.status, problem);
  }
  return body as T;
}

export const api = {
  session: () => request<Session>('GET', '/session'),
  signIn: (apiKey: string) => request<Session>('POST', '/session', { body: { apiKey } }),
  signOut: () => request<void>('DELETE', '/session'),
  redemptions: (query: RedemptionQuery) =>
    request<RedemptionPage>('GET', '/redemptions', { query }),
  redemptionCounts: (query: CountQuery) =>
    request<RedemptionCounts>('GET', '/redemptions/counts', { query }),
  redemption: (id: string) =>
    request<RedemptionDetail>('GET', `/redemptions/${encodeURIComponent(id)}`),
  member: (id: string) => request<Member>('GET', `/members/${encodeURIComponent(id)}`),
  reward: (id: string) => request<Reward>('GET', `/rewards/${encodeURIComponent(id)}`),
  act: (id: string, action: RedemptionAction, reason: string, idempotencyKey: string) =>
    request<RedemptionDetail>('POST', `/redemptions/${encodeURIComponent(id)}/${action}`, {
      body: { reason },
      idempotencyKey,
    }),
  /** Settle the points a closed workflow left held: spend them or give them back. */
  settle: (id: string, action: SettleAction, reason: string, idempotencyKey: string) =>
    request<RedemptionDetail>('POST', `/redemptions/${encodeURIComponent(id)}/settle`, {
      body: { action, reason },
      idempotencyKey,
    }),
};

export type SettleAction = 'spend' | 'release';

/** The operationId each page and action needs (from GET /session's allowedOperations). */
export const may = (session: Session, operationId: string): boolean =>
  session.allowedOperations.includes(operationId);
