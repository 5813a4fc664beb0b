/**
 * A program version as published (`GET /rule-sets/:version`, the JSON a rule change proposes) read
 * into the model's shape. Typed here by hand, on purpose: the model imports nothing from the
 * engine, so a field the engine renames breaks the comparison loudly instead of silently.
 */
import type { ModelProgram } from './types';

export interface PublishedProgram {
  earning: {
    pointsPerUnit: Record<string, number>;
    channelMultipliers?: Record<string, number>;
    categoryMultipliers?: Record<string, number>;
    eventPoints?: Record<string, number>;
    bonuses?: ModelProgram['bonuses'];
    caps?: { all?: ModelProgram['caps']['all']; byEventType?: ModelProgram['caps']['byEventType'] };
    pendingPeriod?: string;
  };
  tiers: { name: string; qualifyingPoints: number; benefits?: { earningMultiplier?: number } }[];
  tierPolicy: { qualificationWindow: string; tierPeriod: string; gracePeriod: string };
  dormancy: { after: string };
  expiry: { policy: 'fixed' | 'activity'; lotLifetime: string; reminderBefore: string };
}

export function modelProgram(p: PublishedProgram): ModelProgram {
  return {
    pointsPerUnit: p.earning.pointsPerUnit,
    channelMultipliers: p.earning.channelMultipliers ?? {},
    categoryMultipliers: p.earning.categoryMultipliers ?? {},
    eventPoints: p.earning.eventPoints ?? {},
    bonuses: p.earning.bonuses ?? [],
    caps: { all: p.earning.caps?.all ?? {}, byEventType: p.earning.caps?.byEventType ?? {} },
    ...(p.earning.pendingPeriod === undefined ? {} : { pendingPeriod: p.earning.pendingPeriod }),
    tiers: p.tiers.map((t) => ({
      name: t.name,
      qualifyingPoints: t.qualifyingPoints,
      earningMultiplier: t.benefits?.earningMultiplier ?? 1,
    })),
    qualificationWindow: p.tierPolicy.qualificationWindow,
    tierPeriod: p.tierPolicy.tierPeriod,
    gracePeriod: p.tierPolicy.gracePeriod,
    dormancyAfter: p.dormancy.after,
    expiryPolicy: p.expiry.policy,
    lotLifetime: p.expiry.lotLifetime,
    reminderBefore: p.expiry.reminderBefore,
  };
}

/** The README's default program (rule set version 1), as published. */
export const defaultPublished: PublishedProgram = {
  earning: {
    pointsPerUnit: { EUR: 1, USD: 1, GBP: 1 },
    channelMultipliers: { app: 1.5 },
    categoryMultipliers: { giftcards: 0 },
    eventPoints: { referral: 500, review: 50 },
    bonuses: [],
    caps: { all: { perDay: 10_000 }, byEventType: { review: { perMonth: 200 } } },
    pendingPeriod: '30 days',
  },
  tiers: [
    { name: 'Member', qualifyingPoints: 0 },
    { name: 'Silver', qualifyingPoints: 2_000, benefits: { earningMultiplier: 1.25 } },
    { name: 'Gold', qualifyingPoints: 5_000, benefits: { earningMultiplier: 1.5 } },
    { name: 'Platinum', qualifyingPoints: 15_000, benefits: { earningMultiplier: 2 } },
  ],
  tierPolicy: { qualificationWindow: '365 days', tierPeriod: '365 days', gracePeriod: '30 days' },
  dormancy: { after: '180 days' },
  expiry: { policy: 'fixed', lotLifetime: '730 days', reminderBefore: '30 days' },
};
