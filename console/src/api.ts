/**
 * The console's one way to the API: same origin, the session cookie, the CSRF header on every
 * request that changes something, and problem+json errors turned into `ApiError`s. The types come
 * from the API's OpenAPI document (src/generated/openapi.d.ts, written by stack/console.ts).
 */
import type { paths } from './generated/openapi';

type JsonOf<R> = R extends { content: { 'application/json': infer Body } } ? Body : never;

export type Session = JsonOf<paths['/session']['get']['responses'][200]>;
export type RedemptionPage = JsonOf<paths['/redemptions']['get']['responses'][200]>;
export type RedemptionStatus = RedemptionPage['redemptions'][number]['status'];
export type Member = JsonOf<paths['/members/{id}']['get']['responses'][200]>;
export type Reward = JsonOf<paths['/rewards/{id}']['get']['responses'][200]>;

/**
 * Fields the `apigaps` branch adds to the redemption answers (SLA flags, the timeline's actor and
 * reason, allowedActions, the member, the reward, the fulfilment). Optional until it lands; once
 * the generated types carry them these intersections change nothing.
 * TODO(apigaps): drop the Partial<> wrappers once the API answers them.
 */
interface SlaFields {
  slaDeadline: string | null;
  slaBreached: boolean;
  atRisk: boolean;
}
export type RedemptionRow = RedemptionPage['redemptions'][number] & Partial<SlaFields>;

type DetailBase = JsonOf<paths['/redemptions/{id}']['get']['responses'][200]>;
export type TimelineEntry = DetailBase['timeline'][number] &
  Partial<{ actor: string; actorType: string; reason: string | null }>;
export type RedemptionAction = 'cancel' | 'return';
export interface Fulfilment {
  shipment: {
    sku?: string;
    trackingNumber: string | null;
    shippedAt?: string | null;
    deliveredAt?: string | null;
  } | null;
  giftCard: {
    provider?: string;
    cardId: string;
    code?: string | null;
    status: string;
    denomination?: number;
    currency?: string;
  } | null;
  coupon: { code?: string | null } | null;
}
// The fields declared here are left out of the generated type, so this still type-checks when
// apigaps' shapes (a superset of these) arrive.
export type RedemptionDetail = Omit<
  DetailBase,
  'timeline' | 'allowedActions' | 'member' | 'reward' | 'fulfilment' | keyof SlaFields
> &
  Partial<SlaFields> & {
    timeline: TimelineEntry[];
    allowedActions?: RedemptionAction[];
    member?: (Pick<Member, 'id' | 'externalId' | 'name' | 'status'> & { tier: string }) | null;
    reward?: Pick<Reward, 'id' | 'name' | 'kind' | 'pointsCost'> | null;
    fulfilment?: Fulfilment;
  };

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
  query?: Record<string, string | number | undefined>;
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
    if (value !== undefined && value !== '') params.set(name, String(value));
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
  redemptions: (query: RequestOptions['query']) =>
    request<RedemptionPage>('GET', '/redemptions', { query }),
  redemptionCounts: (query: RequestOptions['query']) =>
    request<{ byStatus: Record<string, number>; atRisk: number; total: number }>(
      'GET',
      '/redemptions/counts',
      { query },
    ),
  redemption: (id: string) =>
    request<RedemptionDetail>('GET', `/redemptions/${encodeURIComponent(id)}`),
  member: (id: string) => request<Member>('GET', `/members/${encodeURIComponent(id)}`),
  reward: (id: string) => request<Reward>('GET', `/rewards/${encodeURIComponent(id)}`),
  act: (id: string, action: RedemptionAction, reason: string, idempotencyKey: string) =>
    request<RedemptionDetail>('POST', `/redemptions/${encodeURIComponent(id)}/${action}`, {
      body: { reason },
      idempotencyKey,
    }),
};

/** The operationId each page and action needs (from GET /session's allowedOperations). */
export const may = (session: Session, operationId: string): boolean =>
  session.allowedOperations.includes(operationId);
