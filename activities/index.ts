import type { Db } from '../infra/db';
import { createMemberActivities } from './members';

export interface ActivityDeps {
  db: Db;
}

/** Every activity the worker registers, built once from the worker's dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createMemberActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
