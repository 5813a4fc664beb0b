/**
 * The API calls and answer types of the substitutions, reviews, anomalies, members, catalog and
 * programme-health pages, beside the foundation's `api` (same `request`: cookie, CSRF header, problem+json). The
 * types come from the API's OpenAPI document, so a change of shape there fails the typecheck here.
 */
import { request, type RedemptionPage } from './api';
import type { operations, paths } from './generated/openapi';

type JsonOf<R> = R extends { content: { 'application/json': infer Body } } ? Body : never;

export type Substitution = JsonOf<paths['/substitutions/{id}']['get']['responses'][200]>;
export type SubstitutionStatus = Substitution['status'];
export type Review = JsonOf<paths['/reviews']['get']['responses'][200]>['reviews'][number];
export type AnomaliesPage = JsonOf<paths['/anomalies']['get']['responses'][200]>;
export type Anomaly = AnomaliesPage['anomalies'][number];
export type Detector = Anomaly['detector'];
export type MemberFound = JsonOf<paths['/members']['get']['responses'][200]>['members'][number];
export type MemberDetail = JsonOf<paths['/members/{id}']['get']['responses'][200]>;
export type LedgerPage = JsonOf<paths['/members/{id}/ledger']['get']['responses'][200]>;
export type LedgerEntry = LedgerPage['entries'][number];
export type Adjusted = JsonOf<paths['/members/{id}/adjustments']['post']['responses'][201]>;
export type Suspended = JsonOf<paths['/members/{id}/suspend']['post']['responses'][200]>;
export type FrozenList = JsonOf<paths['/members/{id}/frozen']['get']['responses'][200]>;
export type FrozenItem = FrozenList['items'][number];
export type RewardsPage = JsonOf<paths['/rewards']['get']['responses'][200]>;
export type CatalogReward = RewardsPage['rewards'][number];
export type Health = JsonOf<paths['/program/health']['get']['responses'][200]>;
export type Budgets = JsonOf<paths['/program/budgets']['get']['responses'][200]>;
export type Series = JsonOf<paths['/program/health/series']['get']['responses'][200]>;
export type SeriesMetric = NonNullable<
  operations['programHealthSeries']['parameters']['query']
>['metric'];
export type Bucket = Series['bucket'];

const id = (value: string) => encodeURIComponent(value);

/** The most ledger lines the member page loads (following `nextAfter`, 500 at a time). */
export const ledgerMax = 2000;

export const resources = {
  substitutions: (status: SubstitutionStatus | undefined) =>
    request<{ substitutions: Substitution[] }>('GET', '/substitutions', {
      query: { status, limit: 200 },
    }),
  approveSubstitution: (redemptionId: string, sku: string, reason: string, key: string) =>
    request<Substitution>('POST', `/substitutions/${id(redemptionId)}/approve`, {
      body: { sku, reason },
      idempotencyKey: key,
    }),
  rejectSubstitution: (redemptionId: string, reason: string, key: string) =>
    request<Substitution>('POST', `/substitutions/${id(redemptionId)}/reject`, {
      body: { reason },
      idempotencyKey: key,
    }),

  reviews: () => request<{ reviews: Review[] }>('GET', '/reviews', { query: { limit: 200 } }),
  decideReview: (
    redemptionId: string,
    decision: 'approve' | 'reject',
    reason: string,
    key: string,
  ) =>
    request<unknown>('POST', `/redemptions/${id(redemptionId)}/review`, {
      body: { decision, reason },
      idempotencyKey: key,
    }),

  /** The newest findings (one page of 200), of one detector or all. */
  anomalies: (detector: Detector | undefined) =>
    request<AnomaliesPage>('GET', '/anomalies', { query: { detector, limit: 200 } }),

  findMembers: (q: string) =>
    request<{ members: MemberFound[] }>('GET', '/members', { query: { q, limit: 50 } }),
  member: (memberId: string) => request<MemberDetail>('GET', `/members/${id(memberId)}`),
  /** The whole ledger, oldest first, up to `ledgerMax` lines; `more` when there are others. */
  ledger: async (memberId: string): Promise<{ entries: LedgerEntry[]; more: boolean }> => {
    const entries: LedgerEntry[] = [];
    let after: number | undefined;
    for (;;) {
      const page = await request<LedgerPage>('GET', `/members/${id(memberId)}/ledger`, {
        query: { after, limit: 500 },
      });
      entries.push(...page.entries);
      if (page.nextAfter === null) return { entries, more: false };
      if (entries.length >= ledgerMax) return { entries, more: true };
      after = page.nextAfter;
    }
  },
  /** `suspend` or `reinstate` the member, with a reason; one Idempotency-Key per decision. */
  suspension: (memberId: string, action: 'suspend' | 'reinstate', reason: string, key: string) =>
    request<Suspended>('POST', `/members/${id(memberId)}/${action}`, {
      body: { reason },
      idempotencyKey: key,
    }),
  /** The member's frozen points waiting for review, with why each was flagged. */
  frozen: (memberId: string) => request<FrozenList>('GET', `/members/${id(memberId)}/frozen`),
  /** Release or void one frozen entry, with a reason; one Idempotency-Key per decision. */
  decideFrozen: (
    memberId: string,
    entryId: number,
    decision: 'release' | 'void',
    reason: string,
    key: string,
  ) =>
    request<unknown>('POST', `/members/${id(memberId)}/frozen/${entryId}/${decision}`, {
      body: { reason },
      idempotencyKey: key,
    }),
  memberRedemptions: (memberId: string) =>
    request<RedemptionPage>('GET', '/redemptions', {
      query: { memberId, order: 'newest', limit: 50 },
    }),
  adjust: (
    memberId: string,
    body: { points: number; reason: string; reference?: string },
    key: string,
  ) =>
    request<Adjusted>('POST', `/members/${id(memberId)}/adjustments`, {
      body,
      idempotencyKey: key,
    }),

  /** Every reward (following `nextAfter`), with its stock or coupon pool. */
  rewards: async (): Promise<CatalogReward[]> => {
    const rewards: CatalogReward[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await request<RewardsPage>('GET', '/rewards', { query: { after, limit: 500 } });
      rewards.push(...page.rewards);
      if (page.nextAfter === null || rewards.length >= 5000) return rewards;
      after = page.nextAfter;
    }
  },

  health: (window: { from: string; to: string }) =>
    request<Health>('GET', '/program/health', { query: window }),
  budgets: () => request<Budgets>('GET', '/program/budgets'),
  series: (metric: SeriesMetric, bucket: Bucket, window: { from: string; to: string }) =>
    request<Series>('GET', '/program/health/series', { query: { metric, bucket, ...window } }),
};
