/**
 * What a redemption has done that can be undone, newest last: `add` after each effect (or before
 * a partner call whose answer may be lost), `commit` at the point of no return, `compensate` on
 * the way out. Deterministic, no I/O: the undo steps are the workflow's activities.
 */
export class Saga {
  private steps: { what: string; run: () => Promise<boolean | void> }[] = [];
  /** Past the point of no return (shipped, issued) or ended: a cancel is refused from here on. */
  committed = false;

  /** `run` answering false: there was nothing to undo (it is not reported as undone). */
  add(what: string, run: () => Promise<boolean | void>): void {
    this.steps.push({ what, run });
  }

  /** Undone already, by the workflow itself (a shipment dropped on a cancel): not run again. */
  forget(what: string): void {
    this.steps = this.steps.filter((step) => step.what !== what);
  }

  /** The point of no return: nothing done so far is undone, and a pending cancel is refused. */
  commit(): void {
    this.steps = [];
    this.committed = true;
  }

  /** Undoes in reverse order; answers what was undone. */
  async compensate(): Promise<string[]> {
    const undone: string[] = [];
    for (const step of this.steps.reverse()) {
      if ((await step.run()) !== false) undone.push(step.what);
    }
    this.steps = [];
    return undone;
  }
}
