import type { AppConfig } from '../config';
import type { Db } from '../infra/db';
import { createGiftCardActivities } from './giftcards';
import { createInventoryActivities } from './inventory';
import { createMemberActivities } from './members';
import { createRedemptionActivities } from './redemptions';
import { createSubstitutionActivities } from './substitutions';
import { createWarehouseActivities } from './warehouse';

export interface ActivityDeps {
  db: Db;
  config: AppConfig;
}

/** Every activity the worker registers, built once from the worker's dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createMemberActivities(deps),
    ...createRedemptionActivities(deps),
    ...createInventoryActivities(deps),
    ...createWarehouseActivities(deps),
    ...createGiftCardActivities(deps),
    ...createSubstitutionActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
