/**
 * Runs a programme through the model: each member's events in time order, and a snapshot of
 * every member at each checkpoint (month ends, then the end). What the engine-driving simulation
 * compares against, checkpoint by checkpoint.
 */
import type { EventOutcome, Happening, MemberSnapshot, ModelEvent, ModelVersion } from './types';
import { MemberModel } from './member';

export interface ModelMemberInput {
  memberId: string;
  enrolledAt: number;
  events: ModelEvent[];
}

export interface ModelMemberResult {
  memberId: string;
  outcomes: EventOutcome[];
  happenings: Happening[];
  /** One snapshot per checkpoint, in the checkpoints' order. */
  checkpoints: MemberSnapshot[];
}

/** One member through its events and the checkpoints (both sorted by time; events first at a tie). */
export function runMember(
  versions: ModelVersion[],
  input: ModelMemberInput,
  checkpoints: number[],
): ModelMemberResult {
  const member = new MemberModel(versions, input.enrolledAt);
  const events = [...input.events].sort((a, b) => a.at - b.at);
  const snapshots: MemberSnapshot[] = [];
  let i = 0;
  for (const checkpoint of checkpoints) {
    while (i < events.length && events[i]!.at < checkpoint) member.apply(events[i++]!);
    snapshots.push(member.snapshot(checkpoint));
  }
  while (i < events.length) member.apply(events[i++]!);
  return {
    memberId: input.memberId,
    outcomes: member.outcomes,
    happenings: member.happenings,
    checkpoints: snapshots,
  };
}

export function runProgramme(
  versions: ModelVersion[],
  members: ModelMemberInput[],
  checkpoints: number[],
): ModelMemberResult[] {
  return members.map((m) => runMember(versions, m, checkpoints));
}
