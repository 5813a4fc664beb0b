/**
 * The one list of business-failure types. Workflows and activities raise them as non-retryable
 * `ApplicationFailure`s with one of these `type`s; the API maps them to problem responses.
 */
export const FailureType = {
  MemberNotFound: 'MemberNotFound',
  MemberClosed: 'MemberClosed',
} as const;

export type FailureType = (typeof FailureType)[keyof typeof FailureType];

export const nonRetryableFailureTypes: string[] = Object.values(FailureType);
