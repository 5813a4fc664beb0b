import type { Client } from '@temporalio/client';
import type { AppConfig } from '../config';
import type { Db } from '../infra/db';
import { createGiftCardActivities } from './giftcards';
import { createHousekeepingActivities } from './housekeeping';
import { createInventoryActivities } from './inventory';
import { createLaunchActivities } from './launches';
import { createMemberActivities } from './members';
import { createActivityMetrics, type ActivityMetrics } from './metrics';
import { createPartnerCallLog, recordingPartnerCalls, type PartnerCallLog } from './partner-calls';
import { createReadinessActivities } from './readiness';
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
  /** The partner calls the readiness checks read; default: a new log for this worker. */
  partnerCalls?: PartnerCallLog;
}

/** Every activity the worker registers, built once from the worker's dependencies. */
export function createActivities(input: ActivityDeps) {
  // Every partner call is also remembered for the readiness checks' error rate.
  const partnerCalls = input.partnerCalls ?? createPartnerCallLog();
  const metrics = recordingPartnerCalls(input.metrics ?? createActivityMetrics(), partnerCalls);
  const deps = { ...input, metrics, partnerCalls };
  return {
    ...createMemberActivities(deps),
    ...createRedemptionActivities(deps),
    ...createInventoryActivities(deps),
    ...createWarehouseActivities(deps),
    ...createGiftCardActivities(deps),
    ...createSubstitutionActivities(deps),
    ...createWebhookActivities(deps),
    ...createReadinessActivities(deps),
    ...createRuleChangeActivities(deps),
    ...createLaunchActivities(deps),
    ...createSimulationActivities(deps),
    ...createHousekeepingActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
