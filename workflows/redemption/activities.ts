/**
 * The redemption's activities by profile: Postgres steps are local activities (each short,
 * idempotent by the redemption id and writing its own timeline steps in its transaction), partner
 * calls are activities retried by program policy, and undoing a partner call retries until done.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { GiftCardActivities } from '../../activities/giftcards';
import type { InventoryActivities } from '../../activities/inventory';
import type { RedemptionActivities } from '../../activities/redemptions';
import type { WarehouseActivities } from '../../activities/warehouse';
import type { RedemptionPlan } from '../../domain/redemption';
import { partnerCall, partnerUndo, postgresLocalStep } from '../activity-profiles';

export const postgres = proxyLocalActivities<RedemptionActivities & InventoryActivities>(
  postgresLocalStep,
);

type Partners = WarehouseActivities & GiftCardActivities;

export const partners = (policy: RedemptionPlan['partnerRetry']) =>
  proxyActivities<Partners>(partnerCall(policy));

export const undoing = (policy: RedemptionPlan['partnerRetry']) =>
  proxyActivities<Partners>(partnerUndo(policy));
