import path from 'node:path';

/**
 * Modules of the workflow bundle evaluated once per worker instead of once per workflow run.
 *
 * In the reusable V8 context each new run evaluates every module it imports afresh (so module
 * state cannot leak between runs). For the domain modules the workflows import, that meant
 * building their zod schemas again for every redemption: about a quarter of the workflow
 * thread's CPU in the redemption benchmark (BENCHMARKS.md). These modules are pure (schemas,
 * functions, a cache of time-zone formatters), so sharing them is safe. Never list a module
 * that imports `@temporalio/workflow` or keeps per-run state.
 */
export const workflowPreloadModules: string[] = [
  'failures',
  'guard',
  'launch-plan',
  'launch-window',
  'redemption',
  'simulation',
].map((name) => path.join(__dirname, '..', 'domain', `${name}.ts`));
