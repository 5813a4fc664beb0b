/**
 * The rule change workflow's messages (`rule-change:<id>`): its input, its commands as Updates
 * (each with a validator: role admin, the right state, four eyes), its query, and the failure
 * types its validators refuse with (the API maps them to problems). No I/O: the API imports it.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { LaunchWindowPolicy } from '../domain/launch-window';
import type { ChangeActor, RuleChangeState } from './shared';

export interface RuleChangeInput {
  changeId: string;
  /** Distinct approvers needed (`RULE_CHANGE_APPROVALS` when the change was created). */
  approvalsRequired: number;
  /** How long before activation members are told (`RULE_CHANGE_NOTICE`), ms. */
  noticeMs: number;
  /** The launch window (`launchWindowPolicy(config)`): in the input, so replay is stable. */
  policy: LaunchWindowPolicy;
  /** The simulation's window: the last this many ms before proposing. */
  simulationWindowMs: number;
}

/** What the workflow knows and its validators judge by. */
export interface RuleChangeSnapshot {
  changeId: string;
  state: RuleChangeState | 'new';
  revision: number;
  createdBy: string | null;
  proposedBy: string | null;
  approvals: { actor: string; reason: string; at: string }[];
  approvalsRequired: number;
  version: number | null;
  activateAt: string | null;
  noticeAt: string | null;
  noticeSent: boolean;
  launchId: string | null;
  simulationId: string | null;
}

export interface CreateRuleChange extends ChangeActor {
  description: string | null;
  program: unknown;
  /** Propose at once (a draft otherwise). */
  propose: boolean;
}

export type WithReason = ChangeActor & { reason: string };

export const createRuleChangeUpdate = defineUpdate<RuleChangeSnapshot, [CreateRuleChange]>(
  'createRuleChange',
);
export const editRuleChangeUpdate = defineUpdate<
  RuleChangeSnapshot,
  [ChangeActor & { description?: string | null | undefined; program: unknown }]
>('editRuleChange');
export const proposeRuleChangeUpdate = defineUpdate<
  RuleChangeSnapshot,
  [ChangeActor & { reason?: string | null | undefined }]
>('proposeRuleChange');
export const approveRuleChangeUpdate = defineUpdate<RuleChangeSnapshot, [WithReason]>(
  'approveRuleChange',
);
export const rejectRuleChangeUpdate = defineUpdate<RuleChangeSnapshot, [WithReason]>(
  'rejectRuleChange',
);
export const withdrawRuleChangeUpdate = defineUpdate<RuleChangeSnapshot, [WithReason]>(
  'withdrawRuleChange',
);
/** `activateAt` epoch ms (moved to the next allowed slot by the workflow). */
export const scheduleRuleChangeUpdate = defineUpdate<
  RuleChangeSnapshot,
  [ChangeActor & { activateAt: number; reason?: string | null | undefined }]
>('scheduleRuleChange');

export const ruleChangeStateQuery = defineQuery<RuleChangeSnapshot>('ruleChangeState');

/** Why a command was refused; the API answers 403 for `Forbidden` and `OwnChange`, else 409. */
export const RuleChangeRefusal = {
  Forbidden: 'RuleChangeForbidden',
  OwnChange: 'RuleChangeOwnApproval',
  DuplicateApproval: 'RuleChangeDuplicateApproval',
  WrongState: 'RuleChangeWrongState',
  /** The store found the row not as the workflow expected (another writer): not retried. */
  Conflict: 'RuleChangeConflict',
  /** The rules in force changed since the change was proposed: it would undo them. */
  Stale: 'RuleChangeStale',
} as const;
