/**
 * The local gift-card provider: a real HTTP server standing in for the partner that issues gift
 * cards against a prepaid float, so a real provider replaces it by configuration alone.
 *
 * `POST /cards` needs an `Idempotency-Key` header. The first successful request with a key issues
 * one card and deducts its denomination from the float; a repeat with the same body gets the same
 * answer (200) and nothing else happens; the same key with another body is 422; a repeat while the
 * first is still being issued is 409. Failed issues (402 insufficient float, 422 declined) keep no
 * record, so the key can be retried once the cause is fixed. Every success carries `floatBalance`.
 *
 * A card is `issued`, then `activated` at once (`autoActivate`), and later `redeemed` by its holder
 * or `voided`. When the issue request names a `callbackUrl` and the provider has a `webhookSecret`,
 * each change after issuing is posted there as a signed `giftcard.status_changed` callback
 * (Standard Webhooks, retried until answered 2xx: ./callbacks.ts).
 *
 * `POST /cards/void` with the issue's `Idempotency-Key` undoes it, for a client that never heard
 * whether its issue went through: the card issued under that key (if any) is voided (a status
 * change like any other) and its denomination goes back to the float. The key is then closed (a
 * later issue with it is 422), so an issue still on its way cannot land after its void; a void
 * while the issue is running is 409.
 *
 * Routes: `POST /cards`, `POST /cards/void`, `GET /cards/:cardId`, `GET /float`. Control: `POST /_control/float`,
 * `POST /_control/decline-next`, `GET /_control/cards`, `POST /_control/cards/:cardId/status`
 * (`{ status: 'activated' | 'redeemed' | 'voided' }`), `GET /_control/callbacks`, plus the shared
 * faults routes (`POST /_control/reset` also cancels pending declines).
 */
import { randomInt, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Express, Request } from 'express';
import { z } from 'zod';
import type { Logger } from '../infra/logger';
import { createCallbackSender, type CallbackRecord } from './callbacks';
import {
  blame,
  canonicalJson,
  createFaults,
  createPartnerApp,
  listen,
  notFound,
  parseInput,
  PartnerProblem,
} from './faults';

export interface GiftCardOptions {
  /** The provider's float at start (default 10000.00). */
  initialFloat?: number;
  /** The float's currency; cards are issued in it only (default EUR). */
  currency?: string;
  /** How long issuing a card takes (default 0); a same-key request meanwhile is 409. */
  issueDelayMs?: number;
  /** Issues with one of these references are always declined. */
  declineReferences?: string[];
  /** Activate each card right after issuing it (default true); else `/_control/.../status`. */
  autoActivate?: boolean;
  /** Signs status callbacks (`whsec_...`); unset, no callbacks are sent. */
  webhookSecret?: string;
  /** First callback retry delay, doubled after each failure (default 100 ms). */
  callbackInitialDelayMs?: number;
  faultSeed?: number;
  logger?: Logger;
}

export interface GiftCard {
  cardId: string;
  code: string;
  denomination: number;
  currency: string;
  status: CardStatus;
  reference?: string;
  callbackUrl?: string;
  issuedAt: string;
  statusChangedAt: string;
}

export const cardStatuses = ['issued', 'activated', 'redeemed', 'voided'] as const;
export type CardStatus = (typeof cardStatuses)[number];
/** The changes a card in each status can make. */
const nextStatuses: Record<CardStatus, CardStatus[]> = {
  issued: ['activated', 'voided'],
  activated: ['redeemed', 'voided'],
  redeemed: [],
  voided: [],
};

const twoDecimals = (v: number): boolean => Math.abs(v * 100 - Math.round(v * 100)) < 1e-6;
const amount = z.number().max(10_000_000).refine(twoDecimals, 'at most 2 decimals');
const issueRequest = z.strictObject({
  denomination: amount.refine((v) => v > 0, 'must be greater than 0'),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR'),
  reference: z.string().min(1).max(200).optional(),
  callbackUrl: z.url({ protocol: /^https?$/ }).optional(),
});
const idempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, '1 to 255 visible ASCII characters');

type IssueAnswer = GiftCard & { floatBalance: number };
type KeyRecord =
  | { state: 'in-flight'; fingerprint: string }
  | { state: 'done'; fingerprint: string; answer: IssueAnswer }
  | { state: 'voided'; cardId: string | null };
export interface VoidAnswer {
  /** The card voided, or null: none was issued under the key. */
  voided: string | null;
  floatBalance: number;
}

const toCents = (value: number): number => Math.round(value * 100);
const fromCents = (cents: number): number => cents / 100;
const codeAlphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const cardCode = (): string =>
  Array.from({ length: 4 }, () =>
    Array.from({ length: 4 }, () => codeAlphabet[randomInt(codeAlphabet.length)]).join(''),
  ).join('-');

/** The request's `Idempotency-Key` header: required, 1 to 255 visible ASCII characters. */
function keyOf(req: Request): string {
  const key = req.get('idempotency-key');
  if (!key) {
    const why = 'The Idempotency-Key header is required.';
    throw new PartnerProblem('bad-request', why, blame('Idempotency-Key', 'required'));
  }
  return parseInput(z.object({ 'Idempotency-Key': idempotencyKey }), { 'Idempotency-Key': key })[
    'Idempotency-Key'
  ];
}

export function createGiftCards(options: GiftCardOptions = {}) {
  const currency = options.currency ?? 'EUR';
  const declineReferences = new Set(options.declineReferences ?? []);
  const faults = createFaults({ seed: options.faultSeed });
  const cards = new Map<string, GiftCard>();
  const byKey = new Map<string, KeyRecord>();
  const stop = new AbortController();
  const callbacks = createCallbackSender({
    webhookSecret: options.webhookSecret,
    initialDelayMs: options.callbackInitialDelayMs,
    logger: options.logger,
  });
  let floatCents = toCents(options.initialFloat ?? 10_000);
  let declineNext = 0;

  /** Moves a card on and tells its callback URL, if it has one. */
  function changeStatus(cardId: string, status: CardStatus): GiftCard {
    const card = cards.get(cardId);
    if (!card) throw notFound('card', 'cardId', cardId);
    if (!nextStatuses[card.status].includes(status)) {
      throw new PartnerProblem(
        'conflict',
        `A card that is ${card.status} cannot become ${status}.`,
        blame('status', `card is ${card.status}`),
      );
    }
    card.status = status;
    card.statusChangedAt = new Date().toISOString();
    if (card.callbackUrl && options.webhookSecret) {
      callbacks.send(card.callbackUrl, cardId, {
        type: 'giftcard.status_changed',
        cardId,
        status,
        ...(card.reference ? { reference: card.reference } : {}),
        occurredAt: card.statusChangedAt,
      });
    }
    return { ...card };
  }

  /** Voids what was issued under `key` (if anything) and closes the key; repeating is harmless. */
  function voidKey(key: string): VoidAnswer {
    let record = byKey.get(key);
    if (record?.state === 'in-flight') {
      throw new PartnerProblem(
        'request-in-progress',
        'The issue under this Idempotency-Key is still being processed; retry later.',
        blame('Idempotency-Key', 'request in progress'),
      );
    }
    if (record?.state !== 'voided') {
      const card = record?.state === 'done' ? cards.get(record.answer.cardId) : undefined;
      if (card && card.status !== 'voided') {
        changeStatus(card.cardId, 'voided');
        floatCents += toCents(card.denomination);
      }
      record = { state: 'voided', cardId: card?.cardId ?? null };
      byKey.set(key, record);
    }
    return { voided: record.cardId, floatBalance: fromCents(floatCents) };
  }

  function refuse(key: string, problem: PartnerProblem): never {
    byKey.delete(key);
    throw problem;
  }

  async function issue(
    key: string,
    input: unknown,
  ): Promise<{ status: 200 | 201; body: IssueAnswer }> {
    const request = parseInput(issueRequest, input);
    const fingerprint = canonicalJson(request);
    const prior = byKey.get(key);
    if (prior?.state === 'voided') {
      throw new PartnerProblem(
        'idempotency-key-reused',
        'This Idempotency-Key was voided; issue under a new one.',
        blame('Idempotency-Key', 'voided'),
      );
    }
    if (prior && prior.fingerprint !== fingerprint) {
      throw new PartnerProblem(
        'idempotency-key-reused',
        'This Idempotency-Key was used with a different body.',
        blame('Idempotency-Key', 'already used with a different body'),
      );
    }
    if (prior?.state === 'in-flight') {
      throw new PartnerProblem(
        'request-in-progress',
        'A request with this Idempotency-Key is still being processed; retry later.',
        blame('Idempotency-Key', 'request in progress'),
      );
    }
    if (prior) return { status: 200, body: prior.answer };
    if (request.currency !== currency) {
      const why = `Cards are issued in ${currency} only.`;
      throw new PartnerProblem('validation', why, blame('currency', `must be ${currency}`));
    }

    byKey.set(key, { fingerprint, state: 'in-flight' });
    if (options.issueDelayMs) {
      await sleep(options.issueDelayMs, undefined, { signal: stop.signal }).catch(() => {
        refuse(key, new PartnerProblem('unavailable', 'Shutting down.'));
      });
    }
    // From here to the end there is no await: the check and the deduction are one step.
    const cents = toCents(request.denomination);
    const byReference = request.reference !== undefined && declineReferences.has(request.reference);
    if (byReference || declineNext > 0) {
      if (!byReference) declineNext -= 1;
      refuse(key, new PartnerProblem('declined', 'The provider declined to issue this card.'));
    }
    if (cents > floatCents) {
      refuse(
        key,
        new PartnerProblem(
          'insufficient-float',
          `The float (${fromCents(floatCents)} ${currency}) does not cover ${request.denomination} ${currency}.`,
          { floatBalance: fromCents(floatCents) },
        ),
      );
    }
    floatCents -= cents;
    const issuedAt = new Date().toISOString();
    const card: GiftCard = {
      cardId: `gc_${randomUUID()}`,
      code: cardCode(),
      denomination: fromCents(cents),
      currency,
      status: 'issued',
      ...(request.reference ? { reference: request.reference } : {}),
      ...(request.callbackUrl ? { callbackUrl: request.callbackUrl } : {}),
      issuedAt,
      statusChangedAt: issuedAt,
    };
    cards.set(card.cardId, card);
    const answer = { ...card, floatBalance: fromCents(floatCents) };
    byKey.set(key, { fingerprint, state: 'done', answer });
    if (options.autoActivate ?? true) changeStatus(card.cardId, 'activated');
    return { status: 201, body: answer };
  }

  const control = {
    faults,
    float: (): { balance: number; currency: string } => ({
      balance: fromCents(floatCents),
      currency,
    }),
    setFloat(balance: number): { balance: number; currency: string } {
      floatCents = toCents(balance);
      return control.float();
    },
    /** Declines the next `count` issues (422 `/problems/declined`, nothing deducted). */
    declineNext(count = 1): number {
      declineNext += count;
      return declineNext;
    },
    card(cardId: string): GiftCard {
      const card = cards.get(cardId);
      if (!card) throw notFound('card', 'cardId', cardId);
      return { ...card };
    },
    cards: (): GiftCard[] => [...cards.values()].map((card) => ({ ...card })),
    issue,
    /** The holder redeemed it, the provider voided it...: a signed callback tells us. */
    setStatus: changeStatus,
    voidKey,
    callbacks: (): CallbackRecord[] => callbacks.records(),
    /** Ends held requests, issues waiting on `issueDelayMs` and callback retries. */
    async close(): Promise<void> {
      stop.abort();
      faults.close();
      await callbacks.close();
    },
  };

  const routes = (app: Express): void => {
    app.post('/cards', async (req, res) => {
      const { status, body } = await issue(keyOf(req), req.body);
      res.status(status).json(body);
    });
    app.post('/cards/void', (req, res) => {
      res.json(voidKey(keyOf(req)));
    });
    app.get('/cards/:cardId', (req, res) => {
      res.json(control.card(req.params.cardId));
    });
    app.get('/float', (_req, res) => {
      res.json(control.float());
    });
    app.post('/_control/float', (req, res) => {
      const { balance } = parseInput(
        z.strictObject({ balance: amount.refine((v) => v >= 0, 'must not be negative') }),
        req.body,
      );
      res.json(control.setFloat(balance));
    });
    app.post('/_control/decline-next', (req, res) => {
      const { count } = parseInput(
        z.strictObject({ count: z.int().min(1).default(1) }),
        req.body ?? {},
      );
      res.json({ declineNext: control.declineNext(count) });
    });
    app.get('/_control/cards', (_req, res) => {
      res.json({ cards: control.cards() });
    });
    app.post('/_control/cards/:cardId/status', (req, res) => {
      const { status } = parseInput(
        z.strictObject({ status: z.enum(['activated', 'redeemed', 'voided']) }),
        req.body,
      );
      res.json(changeStatus(req.params.cardId, status));
    });
    app.get('/_control/callbacks', (_req, res) => {
      res.json({ callbacks: control.callbacks() });
    });
  };

  const onReset = (): void => void (declineNext = 0);
  return { app: createPartnerApp({ faults, routes, onReset, logger: options.logger }), ...control };
}

export type GiftCards = ReturnType<typeof createGiftCards>;

/** Runs a gift-card provider on `host:port` (default 127.0.0.1, a free port). */
export async function startGiftCards(
  options: GiftCardOptions & { port?: number; host?: string } = {},
): Promise<Omit<GiftCards, 'app'> & { url: string; close(): Promise<void> }> {
  const { app, ...giftCards } = createGiftCards(options);
  const listening = await listen(app, options);
  return {
    ...giftCards,
    url: listening.url,
    close: async () => {
      await giftCards.close();
      await listening.close();
    },
  };
}
