/**
 * After a physical reward is delivered and the redemption completed, its workflow stays open for
 * the program's return window (from delivery) so that a return shows on `redemption:<id>` too:
 * `return:<id>` signals `redemptionReturned` once its refund is done, and the `RedemptionStatus`
 * search attribute follows (`refunded`). Postgres has had the outcome all along: nothing waits
 * for this workflow's result to know how the redemption went. Runs since
 * `redemption-return-window-v6` only.
 */
import { condition, patched, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { redemptionReturnedSignal, searchAttributes } from '../shared';
import type { RedemptionRun } from './run';

export const returnWindowPatch = 'redemption-return-window-v6';

/** Listens for the return (a handler is not a command: runs on older code replay unchanged). */
export function listenForReturns(r: RedemptionRun): void {
  setHandler(redemptionReturnedSignal, ({ status }) => {
    r.returned = status;
  });
}

/** Completed and delivered: waits until the window from delivery closes, showing any return. */
export async function awaitReturnWindow(r: RedemptionRun): Promise<void> {
  const windowMs = r.state.plan?.returnWindowMs;
  const delivered = r.state.timeline.find((step) => step.status === 'delivered');
  if (r.state.status !== 'completed' || !delivered || !windowMs) return;
  if (!patched(returnWindowPatch)) return;
  const closesAt = delivered.at + windowMs;
  let shown: string | null = null;
  while (Date.now() < closesAt) {
    const seen = r.returned;
    await condition(() => r.returned !== seen, closesAt - Date.now());
    if (r.returned && r.returned !== shown) {
      shown = r.returned;
      upsertSearchAttributes([{ key: searchAttributes.RedemptionStatus, value: r.returned }]);
    }
  }
}
