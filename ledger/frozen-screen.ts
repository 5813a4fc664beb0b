/**
 * The earning detectors on the accrual path: for each earning event of a batch, when any earning
 * detector of the member's version is on (`earningDetectorsOff`: nothing is read otherwise),
 * `screenAccrual` judges it in the batch's transaction, its findings are recorded (once per
 * event and rule, `anomaly_findings` + `anomaly.detected`), and the caller lands the event's
 * points frozen (earn.ts). A batch writes its rows at the end, so the member's accruals decided
 * earlier in the same batch are handed to the screen as well as those it reads.
 */
import type { Detection } from '../guardrails/policy';
import type { Activity } from '../guardrails/detectors';
import { earningDetectorsOff, screenAccrual } from '../guardrails/accrual';
import { batchReads, type AccrualReads } from '../guardrails/accrual-reads';
import { recordFindings } from '../guardrails/findings';
import type { EventContext } from '../guardrails/geo';
import type { Columns } from '../infra/columns';
import type { Trx } from '../infra/db';
import type { ActivityEvent } from './activity';
import type { MemberDraft } from './earn';
import type { RuleSet } from './programs';

/** A finding as the event's answer and the frozen list show it. */
export interface FrozenBecause {
  findingId: number | null;
  detector: string;
  why: string;
}

/** Where the event says it happened (validated at the edge by guardrails/geo.ts). */
export function contextOf(event: ActivityEvent): EventContext {
  const c: EventContext = {};
  if (event.country !== undefined) c.country = event.country;
  if (event.lat !== undefined && event.lon !== undefined) {
    c.lat = event.lat;
    c.lon = event.lon;
  }
  if (event.deviceId !== undefined) c.deviceId = event.deviceId;
  return c;
}

export const detectionOf = (ruleSet: RuleSet): Detection => ruleSet.program.detection;

/**
 * A screen for one batch transaction: `screen(draft, event, points, ruleSet)` answers the findings
 * that freeze the event (empty: nothing to review), and remembers the event for the member's next.
 */
export function createScreen(trx: Trx, now: Date, reads: AccrualReads) {
  const earlier = new Map<string, Activity[]>();
  // Members whose events of this batch named a device (their events are not written yet).
  const onDevice = new Map<string, string[]>();
  return async (
    draft: MemberDraft,
    event: ActivityEvent,
    points: number,
    ruleSet: RuleSet,
  ): Promise<FrozenBecause[]> => {
    const d = detectionOf(ruleSet);
    if (earningDetectorsOff(d)) return [];
    const memberId = draft.member.id;
    const context = contextOf(event);
    const mine = earlier.get(memberId) ?? [];
    const device = context.deviceId;
    const sameDeviceInBatch = device ? (onDevice.get(device) ?? []) : [];
    const findings = await screenAccrual(
      reads,
      d,
      { eventId: event.eventId, memberId, points, at: now, context, sameDeviceInBatch },
      mine,
    );
    if (device) onDevice.set(device, [...sameDeviceInBatch, memberId]);
    // As the ledger would read it back: an accrual entry only when points were earned.
    if (points > 0) {
      const { country, lat, lon } = context;
      const located = {
        ...(country ? { country } : {}),
        ...(lat !== undefined ? { lat, lon } : {}),
      };
      earlier.set(memberId, [...mine, { at: now, points, ...located }]);
    }
    if (findings.length === 0) return [];
    const rows = await recordFindings(trx, findings, ruleSet.version);
    const ids = new Map(rows.map((r) => [`${r.detector}:${r.why}`, r.id]));
    const because = findings.map((f) => ({
      findingId: ids.get(`${f.detector}:${f.why}`) ?? null,
      detector: f.detector,
      why: f.why,
    }));
    if (points > 0)
      draft.programEvent('points.frozen', `points.frozen:${event.eventId}`, {
        eventId: event.eventId,
        points,
        findings: because,
        ruleVersion: ruleSet.version,
      });
    return because;
  };
}

/**
 * What a batch's screen reads, read once for all its members whose version has an earning detector
 * on (none: nothing is read), as columns of the batch's first read.
 */
export function readsForBatch(
  now: Date,
  members: { memberId: string; ruleSet: RuleSet }[],
  events: ActivityEvent[],
): Columns<AccrualReads> {
  const screened = members
    .map((m) => ({ memberId: m.memberId, detection: detectionOf(m.ruleSet) }))
    .filter((m) => !earningDetectorsOff(m.detection));
  const devices = screened.length ? events.flatMap((e) => e.deviceId ?? []) : [];
  return batchReads(now, screened, devices);
}
