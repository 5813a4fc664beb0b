/** Member statuses and tiers as stored in Postgres and shown in Temporal search attributes. */
/** `suspended`: ops stopped the member's earning and redeeming until reinstated (ledger/suspension.ts). */
export const memberStatuses = ['active', 'dormant', 'closed', 'suspended'] as const;
export type MemberStatus = (typeof memberStatuses)[number];

/** The tier every member starts in; the tier ladder itself is program policy (see the ledger issue). */
export const entryTier = 'Member';

/** What a member's lifecycle workflow is told about after a change made outside it. */
export const lifecycleChanges = ['tier', 'status', 'timers', 'closed'] as const;
export type LifecycleChange = (typeof lifecycleChanges)[number];
