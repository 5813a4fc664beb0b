export { memberWorkflow } from './member';
export { redemptionWorkflow } from './redemption';
export { returnWorkflow } from './return';
export { substitutionWorkflow } from './substitution';
export {
  webhookDeliveryWorkflow,
  webhookDispatcherWorkflow,
  webhookSubscriptionWorkflow,
} from './webhooks';
export { ruleChangeWorkflow } from './rule-change';
export { launchWorkflow } from './launch';
export { simulationWorkflow } from './simulation';
export { housekeepingWorkflow } from './housekeeping';
