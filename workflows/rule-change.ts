import { allHandlersFinished, condition, log } from '@temporalio/workflow';
import { nextAllowedSlot } from '../domain/launch-window';
import type { RuleChangeInput, RuleChangeSnapshot } from './rule-change-messages';
import { registerHandlers } from './rule-change-handlers';
import { records, RuleChange } from './rule-change-state';
import { simulateRevision } from './rule-change-simulation';
import type { RuleChangeState } from './shared';

const ended: (RuleChangeState | 'new')[] = ['active', 'rejected', 'withdrawn', 'rolled-back'];

/**
 * A new program version as a change request (`rule-change:<id>`): created (update-with-start),
 * edited, proposed, approved by enough distinct admins (the version is published then, not in
 * force), and then either scheduled, members told ahead, and put in force at a time the launch
 * window allows, or taken over by a launch. Rejected or withdrawn on the way. Every step is a
 * row and an audit row in Postgres, and the `RuleChangeState` search attribute.
 */
export async function ruleChangeWorkflow(input: RuleChangeInput): Promise<RuleChangeSnapshot> {
  const change = new RuleChange(input);
  const s = change.snapshot;
  // The what-if of each proposed revision, run beside the playbook; awaited before the end.
  const simulations: Promise<void>[] = [];
  registerHandlers(change, (actor) => simulations.push(simulateRevision(change, actor)));

  // Started by update-with-start: without its create update, nothing to do.
  if (!(await condition(() => s.state !== 'new', '1 hour'))) return s;

  while (!ended.includes(s.state)) {
    if (s.state !== 'scheduled') {
      await condition(() => s.state === 'scheduled' || ended.includes(s.state));
      continue;
    }
    const generation = change.scheduleGeneration;
    const changed = () => change.scheduleGeneration !== generation || s.state !== 'scheduled';
    const until = async (iso: string | null): Promise<boolean> => {
      const wait = Date.parse(iso ?? '') - Date.now();
      return wait > 0 && (await condition(changed, wait));
    };

    if (!s.noticeSent) {
      if (await until(s.noticeAt)) continue;
      const told = await change.serial(async () => {
        if (changed()) return false;
        change.apply(
          await records.announceRuleChange(change.id, {
            step: change.step('notice'),
            actor: 'system:rule-change',
            reason: 'members are told ahead',
            at: new Date().toISOString(),
          }),
        );
        s.noticeSent = true;
        return true;
      });
      if (!told) continue;
    }

    if (await until(s.activateAt)) continue;
    await change.serial(async () => {
      if (changed()) return;
      // Re-checked when the time comes: a holiday may have been a reason to wait.
      const slot = nextAllowedSlot(Date.now(), input.policy);
      if (slot.movedBecause) {
        log.info('activation moved', { changeId: change.id, because: slot.movedBecause });
        change.apply(
          await records.moveActivation(change.id, {
            step: change.step('move'),
            actor: 'system:launch-window',
            reason: slot.movedBecause,
            activateAt: new Date(slot.at).toISOString(),
            movedBecause: slot.movedBecause,
          }),
        );
        s.noticeSent = false;
        change.scheduleGeneration += 1;
        return;
      }
      change.apply(
        await records.activateRuleChange(change.id, {
          step: change.step('activate'),
          actor: 'system:schedule',
          reason: 'the scheduled time came',
          at: new Date().toISOString(),
        }),
      );
    });
  }

  await Promise.all(simulations);
  await condition(allHandlersFinished);
  return s;
}
