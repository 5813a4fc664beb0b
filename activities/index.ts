import type { Client } from '@temporalio/client';
import type { AppConfig } from '../config';
import type { Db } from '../infra/db';
import { createGiftCardActivities } from './giftcards';
import { createInventoryActivities } from './inventory';
import { createMemberActivities } from './members';
import type { ActivityMetrics } from './metrics';
import { createRedemptionActivities } from './redemptions';
import { createRuleChangeActivities } from './rule-changes';
import { createSimulationActivities } from './simulations';
import { createSubstitutionActivities } from './substitutions';
import { createWarehouseActivities } from './warehouse';
import { createWebhookActivities } from './webhooks';

export interface ActivityDeps {
  db: Db;
  config: AppConfig;
  /** For activities that start workflows (the webhook dispatcher). */
  temporal: Client | null;
  /** Where the activities record their metrics (`activities/metrics.ts`); none: not recorded. */
  metrics?: ActivityMetrics;
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
    ...createWebhookActivities(deps),
    ...createRuleChangeActivities(deps),
    ...createSimulationActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
