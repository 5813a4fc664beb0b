/**
 * The snapshot's figures as tiles, grouped as the README's "Programme health" table: members,
 * points and liability, redemptions, fulfilment cost and gift-card float, stock and webhooks.
 * Each tile names its figure (`data-figure`, the path in the API's answer).
 */
import type { ReactNode } from 'react';
import { statusLabel } from '../components';
import { formatMoney, formatNumber, formatRate, formatSeconds } from '../format';
import type { Health } from '../resources';

function Tile({
  figure,
  label,
  value,
  note,
  alert = false,
  list = false,
}: {
  figure: string;
  label: string;
  value: ReactNode;
  note?: ReactNode;
  alert?: boolean;
  /** A list of counts rather than one figure: smaller type. */
  list?: boolean;
}) {
  const className = ['tile', alert && 'alert', list && 'list'].filter(Boolean).join(' ');
  return (
    <div className={className} data-figure={figure}>
      <dt>{label}</dt>
      <dd className="value">{value}</dd>
      {note && <dd className="note">{note}</dd>}
    </div>
  );
}

const trendText = (trend: number | null): string =>
  trend === null
    ? 'nothing the period before'
    : `${trend >= 0 ? '+' : ''}${formatRate(trend)} on the period before`;

function Group({ title, children }: { title: string; children: ReactNode }) {
  const id = `tiles-${title.toLowerCase().replace(/\W+/g, '-')}`;
  return (
    <section aria-labelledby={id}>
      <h2 id={id} className="section">
        {title}
      </h2>
      <dl className="tiles">{children}</dl>
    </section>
  );
}

export function HealthTiles({ h }: { h: Health }) {
  const { members, points, redemptions: r, fulfilment } = h;
  const flows = points.window;
  return (
    <>
      <Group title="Members">
        <Tile figure="members.active" label="Active" value={formatNumber(members.active)} />
        <Tile figure="members.dormant" label="Dormant" value={formatNumber(members.dormant)} />
        <Tile figure="members.closed" label="Closed" value={formatNumber(members.closed)} />
        <Tile
          figure="members.enrolled"
          label="New enrolments"
          value={formatNumber(members.enrolled)}
        />
        <Tile
          figure="members.byTier"
          label="By tier (not closed)"
          list
          value={
            members.byTier
              .map((t) => `${t.tier} ${formatNumber(t.active + t.dormant)}`)
              .join(' · ') || 'none'
          }
        />
      </Group>
      <Group title="Points">
        <Tile
          figure="points.outstanding.total"
          label="Outstanding"
          value={formatNumber(points.outstanding.total)}
          note={`${formatNumber(points.outstanding.available)} available · ${formatNumber(points.outstanding.pending)} pending · ${formatNumber(points.outstanding.held)} held`}
        />
        {points.liability.map((l) => (
          <Tile
            key={l.currency}
            figure={`points.liability.${l.currency}`}
            label={`Liability (${l.currency})`}
            value={formatMoney(l.amount, l.currency)}
            note={`at ${l.costPerPoint} ${l.currency} a point`}
          />
        ))}
        <Tile figure="points.window.issued" label="Issued" value={formatNumber(flows.issued)} />
        <Tile
          figure="points.window.redeemed"
          label="Redeemed"
          value={formatNumber(flows.redeemed)}
        />
        <Tile figure="points.window.expired" label="Expired" value={formatNumber(flows.expired)} />
        <Tile
          figure="points.window.adjusted"
          label="Adjusted (net)"
          value={formatNumber(flows.adjusted)}
          note={`${formatNumber(flows.adjustments.serviceRecovery)} service recovery · ${formatNumber(flows.adjustments.refunds)} refunds`}
        />
        <Tile
          figure="points.breakageRate"
          label="Breakage rate"
          value={formatRate(points.breakageRate)}
          note="expired ÷ issued"
        />
        <Tile
          figure="points.redemptionRate"
          label="Redemption rate"
          value={formatRate(points.redemptionRate)}
          note="redeemed ÷ issued"
        />
      </Group>
      <Group title="Redemptions">
        <Tile
          figure="redemptions.velocity.perDay.current"
          label="Asked for, last 24 h"
          value={formatNumber(r.velocity.perDay.current)}
          note={trendText(r.velocity.perDay.trend)}
        />
        <Tile
          figure="redemptions.velocity.perHour.current"
          label="Asked for, last hour"
          value={formatNumber(r.velocity.perHour.current)}
          note={trendText(r.velocity.perHour.trend)}
        />
        <Tile figure="redemptions.requested" label="Asked for" value={formatNumber(r.requested)} />
        <Tile figure="redemptions.delivered" label="Delivered" value={formatNumber(r.delivered)} />
        <Tile
          figure="redemptions.failed"
          label="Failed"
          value={formatNumber(r.failed)}
          alert={r.failed > 0}
        />
        <Tile figure="redemptions.cancelled" label="Cancelled" value={formatNumber(r.cancelled)} />
        <Tile
          figure="redemptions.timeToDelivery.p50Seconds"
          label="Time to delivery, p50"
          value={formatSeconds(r.timeToDelivery.p50Seconds)}
          note={`p90 ${formatSeconds(r.timeToDelivery.p90Seconds)} · ${formatNumber(r.timeToDelivery.count)} delivered`}
        />
        <Tile
          figure="redemptions.sla.breaches"
          label="SLA breaches"
          value={formatNumber(r.sla.breaches)}
          alert={r.sla.breaches > 0}
        />
        <Tile
          figure="redemptions.sla.openPastSla"
          label="Shipped, past the SLA now"
          value={formatNumber(r.sla.openPastSla)}
          alert={r.sla.openPastSla > 0}
        />
        <Tile
          figure="redemptions.serviceRecovery.credits"
          label="Service-recovery credits"
          value={formatNumber(r.serviceRecovery.credits)}
          note={`${formatNumber(r.serviceRecovery.points)} points`}
        />
        <Tile
          figure="redemptions.byStatus"
          label="Now, by status"
          list
          value={
            Object.entries(r.byStatus)
              .filter(([, n]) => n > 0)
              .map(([s, n]) => `${statusLabel(s)} ${formatNumber(n)}`)
              .join(' · ') || 'none'
          }
        />
      </Group>
      <Group title="Fulfilment, float, stock and webhooks">
        {fulfilment.cost.map((c) => (
          <Tile
            key={c.currency}
            figure={`fulfilment.cost.${c.currency}`}
            label={`Fulfilment cost (${c.currency})`}
            value={formatMoney(c.total.amount, c.total.currency)}
            note={`${formatMoney(c.perRedemption.amount, c.perRedemption.currency)} per redemption · ${formatNumber(c.redemptions)} redemptions`}
          />
        ))}
        {h.giftCardFloat.map((f) => (
          <Tile
            key={f.provider}
            figure={`giftCardFloat.${f.provider}`}
            label={`Gift-card float, ${f.provider}`}
            value={formatMoney(f.balance.amount, f.balance.currency)}
            note={`${f.daysLeft === null ? 'no burn yet' : `${formatNumber(Math.floor(f.daysLeft))} days left`}${f.low ? ' · low' : ''}`}
            alert={f.low}
          />
        ))}
        <Tile
          figure="stock.atOrUnderThreshold"
          label="Rewards at or under their stock threshold"
          value={formatNumber(h.stock.atOrUnderThreshold)}
          note={h.stock.rewards
            .slice(0, 5)
            .map((s) => s.name)
            .join(', ')}
          alert={h.stock.atOrUnderThreshold > 0}
        />
        <Tile
          figure="webhooks.failing"
          label="Webhook subscriptions failing"
          value={formatNumber(h.webhooks.failing)}
          note={`${formatNumber(h.webhooks.disabled)} disabled`}
          alert={h.webhooks.failing > 0}
        />
      </Group>
    </>
  );
}
