import { ApplicationFailure } from '@temporalio/activity';
import type { AppConfig } from '../config';
import { FailureType } from '../domain/failures';
import type { Db } from '../infra/db';
import { forgetGiftCard, recordFloat, saveGiftCard } from '../redemptions/giftcards';
import { withSteps, type StepInput } from '../redemptions/records';
import { createActivityMetrics, type ActivityMetrics } from './metrics';
import { expectSuccess, partnerClient, type PartnerAnswer } from './partner-http';

export interface IssuedCard {
  cardId: string;
  code: string;
  floatBalance: number | null;
}

/**
 * The gift-card provider at `GIFTCARD_URL`, called with the redemption id as `Idempotency-Key`,
 * so a retry (even after a lost answer) issues one card; the provider reports the card's later
 * status to `CALLBACK_BASE_URL/callbacks/giftcards`. The float each answer reports is kept;
 * a decline or an insufficient float is a business failure, not retried. A card whose issue
 * never got an answer is voided by the same key, so no card outlives a refund. Given `steps`, the
 * card is kept with its timeline steps (`issued`, naming the card) in one transaction.
 */
export function createGiftCardActivities({
  db,
  config,
  metrics = createActivityMetrics(),
}: {
  db: Db;
  config: Pick<AppConfig, 'GIFTCARD_URL' | 'GIFTCARD_FLOAT_LOW' | 'CALLBACK_BASE_URL'>;
  metrics?: ActivityMetrics;
}) {
  const callPartner = partnerClient('giftcard', metrics);
  const trackFloat = async (provider: string, answer: PartnerAnswer, currency: string) => {
    const balance = Number(answer.body.floatBalance);
    if (answer.body.floatBalance === undefined || !Number.isFinite(balance)) return;
    await recordFloat(db, { provider, balance, currency, threshold: config.GIFTCARD_FLOAT_LOW });
  };

  return {
    async issueGiftCard(input: {
      redemptionId: string;
      provider: string;
      denomination: number;
      currency: string;
      steps?: StepInput[];
    }): Promise<IssuedCard> {
      const { steps = [], ...request } = input;
      const answer = await callPartner(
        'issueGiftCard',
        new URL('/cards', config.GIFTCARD_URL).href,
        {
          method: 'POST',
          headers: { 'idempotency-key': `redemption:${input.redemptionId}` },
          body: {
            denomination: input.denomination,
            currency: input.currency,
            reference: input.redemptionId,
            // Where the provider reports the card's status changes (activated, redeemed, voided).
            callbackUrl: new URL('/callbacks/giftcards', config.CALLBACK_BASE_URL).href,
          },
        },
      );
      await trackFloat(input.provider, answer, input.currency);
      if (answer.status === 402) {
        throw ApplicationFailure.nonRetryable(
          `${input.provider}'s float cannot cover a ${input.denomination} ${input.currency} card.`,
          FailureType.InsufficientFloat,
        );
      }
      if (answer.status === 422 && String(answer.body.type).endsWith('/declined')) {
        throw ApplicationFailure.nonRetryable(
          `${input.provider} declined the card: ${typeof answer.body.detail === 'string' ? answer.body.detail : 'no reason given'}`,
          FailureType.GiftCardDeclined,
        );
      }
      expectSuccess(input.provider, answer);
      const card = {
        cardId: String(answer.body.cardId),
        code: String(answer.body.code),
        floatBalance:
          answer.body.floatBalance === undefined ? null : Number(answer.body.floatBalance),
      };
      const detail = { cardId: card.cardId, floatBalance: card.floatBalance };
      await withSteps(
        db,
        (trx) => saveGiftCard(trx, { ...request, ...card }),
        () => steps.map((s) => ({ ...s, step: { ...s.step, detail } })),
      );
      return card;
    },

    /**
     * Undoes `issueGiftCard` when its answer never came back (retries ran out): the provider voids
     * whatever it issued under the same key and refunds the float. Answers whether a card was
     * voided; repeating it is harmless.
     */
    async voidGiftCard(input: {
      redemptionId: string;
      provider: string;
      currency: string;
    }): Promise<{ voided: boolean }> {
      const answer = await callPartner(
        'voidGiftCard',
        new URL('/cards/void', config.GIFTCARD_URL).href,
        {
          method: 'POST',
          headers: { 'idempotency-key': `redemption:${input.redemptionId}` },
          body: {},
        },
      );
      expectSuccess(input.provider, answer);
      await trackFloat(input.provider, answer, input.currency);
      await forgetGiftCard(db, input.redemptionId);
      return { voided: typeof answer.body.voided === 'string' };
    },
  };
}

export type GiftCardActivities = ReturnType<typeof createGiftCardActivities>;
