/**
 * A domain refusal: the ledger, the catalog or a redemption says no, in domain words (a kind from
 * one short list, a message, the fields at fault). It knows nothing of HTTP or Temporal: the API
 * maps the kind to a problem answer (`api/errors.ts`), an activity turns it into a non-retryable
 * `ApplicationFailure` whose `type` is the kind (`activities/refusals.ts`). No I/O.
 */
import { FailureType } from './failures';

/**
 * The kinds, spelled as business-failure types: the member-specific ones are the `FailureType`s
 * the workflows already record (`InsufficientPoints`, `MemberClosed`, `MemberNotFound`).
 */
export const RefusalKind = {
  /** The request does not make sense for what it names (a wrong kind of reward, a bad count). */
  Invalid: 'Invalid',
  /** What it names does not exist (a reward, a stock reservation). */
  NotFound: 'NotFound',
  /** It clashes with what is already recorded (the same id with other content, a wrong state). */
  Conflict: 'Conflict',
  MemberNotFound: FailureType.MemberNotFound,
  MemberClosed: FailureType.MemberClosed,
  MemberSuspended: FailureType.MemberSuspended,
  /** More points asked for than the member has available. */
  InsufficientPoints: FailureType.InsufficientPoints,
  /** A programme budget for this period is used up (domain/budgets.ts). */
  BudgetExhausted: FailureType.BudgetExhausted,
} as const;

export type RefusalKind = (typeof RefusalKind)[keyof typeof RefusalKind];

export const refusalKinds: readonly RefusalKind[] = Object.values(RefusalKind);

/** A field at fault and what is wrong with it. */
export interface FieldError {
  field: string;
  message: string;
}

export class Refusal extends Error {
  constructor(
    readonly kind: RefusalKind,
    message: string,
    /** The fields at fault, in the order found. */
    readonly errors: FieldError[] = [],
    /** Anything more a client is told, beside the fields (plain JSON values). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'Refusal';
  }
}

export const isRefusal = (err: unknown): err is Refusal => err instanceof Refusal;

/** A refusal blaming one field, with the message for it (by default the refusal's own). */
const blaming =
  (kind: RefusalKind) =>
  (message: string, field?: string, fieldMessage: string = message): Refusal =>
    new Refusal(kind, message, field === undefined ? [] : [{ field, message: fieldMessage }]);

/** `invalid(message, field, fieldMessage?)`: the request does not make sense. */
export const invalid = blaming(RefusalKind.Invalid);
/** `conflict(message, field, fieldMessage?)`: it clashes with what is recorded. */
export const conflict = blaming(RefusalKind.Conflict);
/** `insufficientPoints(message, field, fieldMessage?)`: more than is available. */
export const insufficientPoints = blaming(RefusalKind.InsufficientPoints);

/** `No reward with sku 'x'.`, blaming the field as an unknown reward. */
export const notFound = (what: string, field: string, value: string): Refusal =>
  new Refusal(RefusalKind.NotFound, `No ${what} with ${field} '${value}'.`, [
    { field, message: `unknown ${what}` },
  ]);

/** The member named by `field` (`memberId` or `externalId`) does not exist. */
export const memberNotFound = (field: 'memberId' | 'externalId', value: string): Refusal =>
  new Refusal(
    RefusalKind.MemberNotFound,
    `No member with ${field === 'memberId' ? 'id' : 'externalId'} '${value}'.`,
    [{ field, message: 'no such member' }],
  );

/** The member is closed: nothing more can be earned, spent or held. */
export const memberClosed = (memberId: string): Refusal =>
  new Refusal(RefusalKind.MemberClosed, `Member ${memberId} is closed.`, [
    { field: 'memberId', message: 'the member is closed' },
  ]);

/** Ops suspended the member: nothing can be earned or redeemed until they are reinstated. */
export const memberSuspended = (memberId: string): Refusal =>
  new Refusal(
    RefusalKind.MemberSuspended,
    `Member ${memberId} is suspended: nothing is earned or redeemed until ops reinstate them.`,
    [{ field: 'memberId', message: 'the member is suspended' }],
    { memberStatus: 'suspended' },
  );
