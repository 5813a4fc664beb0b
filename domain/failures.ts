/**
 * The one list of business-failure types. Workflows and activities raise them as non-retryable
 * `ApplicationFailure`s with one of these `type`s; the API maps them to problem responses.
 */
export const FailureType = {
  MemberNotFound: 'MemberNotFound',
  MemberClosed: 'MemberClosed',
  /** Ops suspended the member: no earning, no redeeming until reinstated. */
  MemberSuspended: 'MemberSuspended',
  /** The member may not have this reward (status, tier, caps, an anomaly hold). */
  NotEligible: 'NotEligible',
  InsufficientPoints: 'InsufficientPoints',
  OutOfStock: 'OutOfStock',
  /** The gift-card provider refused to issue the card. */
  GiftCardDeclined: 'GiftCardDeclined',
  /** The gift-card provider's float cannot cover the card. */
  InsufficientFloat: 'InsufficientFloat',
  /** A partner answered a request as malformed (4xx): retrying cannot help. */
  PartnerRejected: 'PartnerRejected',
  /** A programme budget (redemptions of the reward, gift-card spend) is used up this period. */
  BudgetExhausted: 'BudgetExhausted',
} as const;

export type FailureType = (typeof FailureType)[keyof typeof FailureType];

export const nonRetryableFailureTypes: string[] = Object.values(FailureType);
