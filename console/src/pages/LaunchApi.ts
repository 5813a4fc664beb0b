/**
 * The API calls of the launch pages (same `request`: cookie, CSRF header, problem+json), and their
 * answer types from the API's OpenAPI document: a change of shape there fails the typecheck.
 */
import { request } from '../api';
import type { paths } from '../generated/openapi';
import type { AuditItem } from './RuleChangeAudit';

type JsonOf<R> = R extends { content: { 'application/json': infer Body } } ? Body : never;

export type Launch = JsonOf<paths['/launches/{id}']['get']['responses'][200]>;
export type LaunchList = JsonOf<paths['/launches']['get']['responses'][200]>;
export type LaunchRow = LaunchList['launches'][number];
export type LaunchState = Launch['state'];
export type Signoff = Launch['signoffs'][number];
export type LaunchCommand = 'go' | 'pause' | 'resume' | 'rollback' | 'cancel';

/** The parts of the plan the pages read (the view carries the plan as given, untyped). */
export interface PlanView {
  cohort: { percent: number; members?: string[] };
  monitoring: { window: string; metrics: Record<string, { threshold: number; onBreach: string }> };
}
export const planOf = (launch: Launch): PlanView => launch.plan as unknown as PlanView;

const id = (value: string) => encodeURIComponent(value);

export const launches = {
  list: () => request<LaunchList>('GET', '/launches'),
  get: (launchId: string) => request<Launch>('GET', `/launches/${id(launchId)}`),
  audit: async (launchId: string): Promise<AuditItem[]> =>
    (await request<{ trail: AuditItem[] }>('GET', `/launches/${id(launchId)}/audit`)).trail,
  signOff: (launchId: string, area: string, reason: string, key: string) =>
    request<Launch>('POST', `/launches/${id(launchId)}/signoffs`, {
      body: reason ? { area, reason } : { area },
      idempotencyKey: key,
    }),
  withdraw: (launchId: string, area: string, reason: string, key: string) =>
    request<Launch>('POST', `/launches/${id(launchId)}/signoffs/${id(area)}/withdraw`, {
      body: { reason },
      idempotencyKey: key,
    }),
  /** `at`: go live then (go only; the next allowed slot from it). */
  command: (launchId: string, command: LaunchCommand, reason: string, key: string, at?: string) =>
    request<Launch>('POST', `/launches/${id(launchId)}/${command}`, {
      body: at ? { reason, at } : { reason },
      idempotencyKey: key,
    }),
};
