/**
 * The messages of the `launch:<id>` workflow, shared by the API and the workflow: its input, the
 * `launchState` query, and the owners' commands as Workflow Updates (validated: the caller must be
 * the owner named for the area, or any named owner or an admin for the launch as a whole).
 * No I/O here.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { LaunchWindowPolicy } from '../domain/launch-window';
import type { LaunchArea, LaunchPlan, LaunchState, Signoff } from '../domain/launch-plan';
import type { ChangeActor } from './shared';

export interface LaunchInput {
  launchId: string;
  plan: LaunchPlan;
  /** The version rolled out, and the general version the change was based on (attachLaunch). */
  version: number;
  baseVersion: number;
  /** The launch window, from config at creation (replay-stable). */
  policy: LaunchWindowPolicy;
  actor: string;
}

/** What the `launchState` query answers: the workflow's own view of where it is. */
export interface LaunchStatus {
  launchId: string;
  state: LaunchState;
  signoffs: Signoff[];
  checksPassed: boolean;
  checksDeadlinePassed: boolean;
  /** The percentage of members the new version is in force for (0 before go-live). */
  percent: number;
  stage: number;
  /** Epoch ms the current window ends (null outside a window, or while paused). */
  windowEndsAt: number | null;
  pausedFrom: LaunchState | null;
}

export const launchStateQuery = defineQuery<LaunchStatus>('launchState');

export type SignoffRequest = ChangeActor & { area: LaunchArea; reason?: string | undefined };

export const signOffUpdate = defineUpdate<LaunchStatus, [SignoffRequest]>('signOff');
export const withdrawSignoffUpdate = defineUpdate<LaunchStatus, [SignoffRequest]>(
  'withdrawSignoff',
);

export type CommandRequest = ChangeActor & { reason: string; at?: string | undefined };

/** Go live (now, or at `at`; either way in the next allowed slot). */
export const goUpdate = defineUpdate<LaunchStatus, [CommandRequest]>('go');
/** Hold the monitoring window (the cohort stays on the new version). */
export const pauseUpdate = defineUpdate<LaunchStatus, [CommandRequest]>('pause');
/** Continue a paused window where it stopped. */
export const resumeUpdate = defineUpdate<LaunchStatus, [CommandRequest]>('resume');
/** The cohort back to the previous version, at once. */
export const rollbackUpdate = defineUpdate<LaunchStatus, [CommandRequest]>('rollback');
/** Call the launch off before go-live; the rule change is `approved` again. */
export const cancelUpdate = defineUpdate<LaunchStatus, [CommandRequest]>('cancel');

/** Failure types of the validators, mapped by the API to 403 and 409. */
export const LaunchRefusal = { Forbidden: 'Forbidden', WrongState: 'WrongState' } as const;
