/**
 * The API calls of the rule-change pages (same `request`: cookie, CSRF header, problem+json), and
 * their answer types from the API's OpenAPI document: a change of shape there fails the typecheck.
 */
import { request } from '../api';
import type { paths } from '../generated/openapi';
import type { AuditItem } from './RuleChangeAudit';

type JsonOf<R> = R extends { content: { 'application/json': infer Body } } ? Body : never;

export type RuleChange = JsonOf<paths['/rule-changes/{id}']['get']['responses'][200]>;
export type RuleChangeList = JsonOf<paths['/rule-changes']['get']['responses'][200]>;
export type RuleChangeRow = RuleChangeList['ruleChanges'][number];
export type RuleChangeState = RuleChange['state'];
export type Simulation = JsonOf<paths['/rule-sets/simulations/{id}']['get']['responses'][200]>;
/** The what-if's figures (the change's view carries them untyped: they are the simulation's). */
export type SimulationResult = NonNullable<Simulation['result']>;

/** Every state, in the order a change goes through them. */
export const ruleChangeStates: RuleChangeState[] = [
  'draft',
  'proposed',
  'approved',
  'scheduled',
  'launching',
  'active',
  'rejected',
  'withdrawn',
  'rolled-back',
];

const id = (value: string) => encodeURIComponent(value);
const decide =
  (action: 'approve' | 'reject' | 'withdraw' | 'propose') =>
  (changeId: string, reason: string, key: string) =>
    request<RuleChange>('POST', `/rule-changes/${id(changeId)}/${action}`, {
      body: reason ? { reason } : {},
      idempotencyKey: key,
    });

export const ruleChanges = {
  list: (state?: RuleChangeState) =>
    request<RuleChangeList>('GET', '/rule-changes', { query: { state } }),
  get: (changeId: string) => request<RuleChange>('GET', `/rule-changes/${id(changeId)}`),
  audit: async (changeId: string): Promise<AuditItem[]> =>
    (await request<{ audit: AuditItem[] }>('GET', `/rule-changes/${id(changeId)}/audit`)).audit,
  simulation: (simulationId: string) =>
    request<Simulation>('GET', `/rule-sets/simulations/${id(simulationId)}`),
  approve: decide('approve'),
  reject: decide('reject'),
  withdraw: decide('withdraw'),
  propose: decide('propose'),
  schedule: (changeId: string, activateAt: string, reason: string, key: string) =>
    request<RuleChange>('POST', `/rule-changes/${id(changeId)}/schedule`, {
      body: reason ? { activateAt, reason } : { activateAt },
      idempotencyKey: key,
    }),
};
