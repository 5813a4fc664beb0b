/**
 * Redemptions as the console shows them: each queue row with its SLA deadline and risk; the
 * detail with who did each step and why, the member, the reward, the shipment or gift card, the
 * actions the caller may take now, and codes only for the roles that may read them.
 */
import { codeFor } from '../domain/codes';
import { ms } from '../domain/program';
import { actorOf, allowedActions, slaOf } from '../domain/redemption-ops';
import { roleAllows, type Role } from '../domain/roles';
import type { Db } from '../infra/db';
import { loadRuleSet } from '../ledger/programs';
import { fulfilmentOf, redemptionContext } from '../redemptions/details';
import { slaMsOf, type QueueRow, type RiskPolicy } from '../redemptions/queue';
import type { AppConfig } from '../config';
import { holdIsOpen } from '../redemptions/settle';
import { redemptionView, showRedemption, workflowClosed, type RedemptionDeps } from './redemptions';

/**
 * Each version's delivery SLA (a redemption's deadline is its own version's; the general
 * version's for one from before versions were recorded), the configured margin, and now.
 */
export async function redemptionPolicy(db: Db, config: AppConfig): Promise<RiskPolicy> {
  const general = await loadRuleSet(db);
  const versions = await db('rule_sets').orderBy('version').pluck<number[]>('version');
  const slaByVersion = new Map<number, number>();
  for (const version of versions) {
    const { program } = await loadRuleSet(db, version);
    slaByVersion.set(version, ms(program.redemption.deliverySla));
  }
  return {
    deliverySlaMs: ms(general.program.redemption.deliverySla),
    slaByVersion,
    marginMs: config.SLA_AT_RISK_SECONDS * 1000,
    now: new Date(),
  };
}

export function queueRowView(config: AppConfig, row: QueueRow, policy: RiskPolicy) {
  return {
    ...redemptionView(config, row),
    ...slaOf(
      {
        status: row.status,
        createdAt: row.created_at,
        shippedAt: row.shipped_at,
        breachRecorded: row.sla_breach_recorded,
      },
      { deliverySlaMs: slaMsOf(row, policy), marginMs: policy.marginMs },
      policy.now,
    ),
  };
}

type Shown = Awaited<ReturnType<typeof showRedemption>>['view'];

/** The live state's codes as `role` may see them. */
function maskLive(live: Shown['live'], role: Role): Shown['live'] {
  return {
    ...live,
    giftCard: live.giftCard && { ...live.giftCard, code: codeFor(role, live.giftCard.code) },
    coupon: live.coupon && { ...live.coupon, code: codeFor(role, live.coupon.code) },
  };
}

export async function redemptionDetail(deps: RedemptionDeps, id: string, role: Role) {
  const { found, view: shown } = await showRedemption(deps, id);
  const now = new Date();
  const { row, steps } = found;
  // Its deadline and return window are its own version's, whatever is in force now.
  const { program } = await loadRuleSet(deps.db, row.rule_version ?? undefined);
  const { member, reward } = await redemptionContext(deps.db, row);
  const fulfilment = await fulfilmentOf(deps.db, row, steps, reward?.kind ?? null);
  const status = shown.status;
  const has = (step: string) => steps.some((s) => s.step === step);
  // Temporal is asked only about a redemption holding points (one that is running, or stranded).
  const strandedHold =
    roleAllows(role, 'ops') &&
    (await holdIsOpen(deps.db, row.id)) &&
    (await workflowClosed(deps, row.id));
  return {
    ...shown,
    live: maskLive(shown.live, role),
    timeline: shown.timeline.map((entry) => {
      const detail =
        typeof entry.detail.coupon === 'string'
          ? { ...entry.detail, coupon: codeFor(role, entry.detail.coupon) }
          : entry.detail;
      return {
        ...entry,
        detail,
        ...actorOf(entry.step, entry.detail, reward),
      };
    }),
    ...slaOf(
      {
        status,
        createdAt: row.created_at,
        shippedAt: steps.find((s) => s.step === 'shipped')?.at ?? null,
        breachRecorded: has('sla_breached'),
      },
      {
        deliverySlaMs: ms(program.redemption.deliverySla),
        marginMs: deps.config.SLA_AT_RISK_SECONDS * 1000,
      },
      now,
    ),
    allowedActions: allowedActions(
      role,
      {
        status,
        deliveredAt: steps.find((s) => s.step === 'delivered')?.at ?? null,
        strandedHold,
      },
      ms(program.redemption.returnWindow),
      now,
    ),
    member,
    reward,
    fulfilment: {
      shipment: fulfilment.shipment,
      giftCard: fulfilment.giftCard && {
        ...fulfilment.giftCard,
        code: codeFor(role, fulfilment.giftCard.code),
      },
      coupon: fulfilment.coupon && {
        ...fulfilment.coupon,
        code: codeFor(role, fulfilment.coupon.code),
      },
    },
  };
}
