/**
 * One redemption: its timeline (each step with time, actor and reason), the member, the reward,
 * the shipment or gift card, and the actions allowed now (cancel, return) with a reason asked for.
 */
import { useState, type ReactNode } from 'react';
import {
  api,
  may,
  type Fulfilment,
  type RedemptionAction,
  type RedemptionDetail,
  type Session,
  type TimelineEntry,
} from '../api';
import {
  Ago,
  ErrorState,
  Loading,
  PageHeading,
  SlaBadge,
  StatusBadge,
  UpdatedAt,
  statusLabel,
  usePolling,
} from '../components';
import { ActionDialog } from './ActionDialog';
import { Link } from '../router';
import { useSignedIn } from '../session';
import { pollMs } from './Queue';

const ended = ['completed', 'refunded', 'failed', 'cancelled', 'lost'];
const cancellable = [
  'requested',
  'points_held',
  'substitution_pending',
  'backordered',
  'stock_reserved',
  'shipment_requested',
];

/**
 * What this session may do now. The API answers `allowedActions` once `apigaps` lands; until
 * then it is worked out here from the status, for display only (the server decides).
 * TODO(apigaps): use `allowedActions` alone once every answer has it.
 */
export function actionsFor(session: Session, r: RedemptionDetail): RedemptionAction[] {
  const byRole: RedemptionAction[] = [];
  if (may(session, 'cancelRedemption')) byRole.push('cancel');
  if (may(session, 'returnRedemption')) byRole.push('return');
  if (r.allowedActions) return r.allowedActions.filter((a) => byRole.includes(a));
  return byRole.filter((action) =>
    action === 'cancel'
      ? cancellable.includes(r.status)
      : r.status === 'completed' && r.timeline.some((s) => s.step === 'delivered'),
  );
}

export function RedemptionPage({ params }: { params: Record<string, string> }) {
  const id = params.id ?? '';
  const session = useSignedIn();
  const found = usePolling(() => api.redemption(id), pollMs, id);
  const r = found.data;
  return (
    <section>
      <p className="crumbs">
        <Link to="/">← Redemption queue</Link>
      </p>
      <div className="page-head">
        <PageHeading title={`Redemption ${id}`}>
          Redemption <code>{id}</code>
        </PageHeading>
        <UpdatedAt at={found.updatedAt} />
      </div>
      {found.error && <ErrorState error={found.error} retry={found.reload} />}
      {!r ? (
        !found.error && <Loading what="the redemption" />
      ) : (
        <>
          <div className="status-line">
            <StatusBadge status={r.status} />
            <SlaBadge atRisk={r.atRisk} breached={r.slaBreached ?? Boolean(r.live?.slaBreached)} />
            {r.reason && <span className="reason">Reason: {r.reason}</span>}
            <a href={r.workflow.url} target="_blank" rel="noreferrer">
              Open the workflow in Temporal UI
            </a>
          </div>
          <Actions session={session} redemption={r} done={found.reload} />
          <div className="columns">
            <Summary r={r} now={found.updatedAt} />
            <Fulfilment r={r} now={found.updatedAt} />
          </div>
          <Timeline r={r} />
        </>
      )}
    </section>
  );
}

function Actions({
  session,
  redemption,
  done,
}: {
  session: Session;
  redemption: RedemptionDetail;
  done: () => void;
}) {
  // Kept here, not in the dialog: once done, the action is gone but its outcome stays in view.
  const [message, setMessage] = useState<string | null>(null);
  const actions = actionsFor(session, redemption);
  const finished = (text: string) => {
    setMessage(text);
    done();
  };
  let body: ReactNode;
  if (!may(session, 'cancelRedemption') && !may(session, 'returnRedemption')) {
    body = (
      <p className="help">Your role ({session.role}) can view redemptions, not change them.</p>
    );
  } else if (!actions.length) {
    body = (
      <p className="help">
        No action is possible now (
        {ended.includes(redemption.status) ? 'it has ended' : statusLabel(redemption.status)}).
      </p>
    );
  } else {
    body = (
      <div className="actions" role="group" aria-label="Actions">
        {actions.map((action) => (
          <ActionDialog key={action} id={redemption.redemptionId} action={action} done={finished} />
        ))}
      </div>
    );
  }
  return (
    <>
      {message && (
        <p className="notice" role="status">
          {message}
        </p>
      )}
      {body}
    </>
  );
}

/**
 * The member and the reward: from the redemption's answer once `apigaps` adds them, else read
 * once from GET /members/:id and GET /rewards/:id.
 * TODO(apigaps): drop the separate reads once `member` and `reward` are always in the answer.
 */
function useMemberAndReward(r: RedemptionDetail) {
  const needed = r.member === undefined;
  const member = usePolling(
    () => (needed ? api.member(r.memberId) : Promise.resolve(null)),
    0,
    `${r.memberId}:${needed}`,
  );
  const reward = usePolling(
    () => (r.reward === undefined ? api.reward(r.rewardId) : Promise.resolve(null)),
    0,
    `${r.rewardId}:${r.reward === undefined}`,
  );
  const m = r.member ?? member.data;
  const w = r.reward ?? reward.data;
  return {
    member: m && {
      label: m.name ?? m.externalId,
      tier: typeof m.tier === 'string' ? m.tier : m.tier.name,
      status: m.status,
    },
    reward: w && { name: w.name, kind: w.kind, pointsCost: w.pointsCost },
  };
}

function Summary({ r, now }: { r: RedemptionDetail; now: Date | undefined }) {
  const { member, reward } = useMemberAndReward(r);
  return (
    <section className="card" aria-labelledby="summary-heading">
      <h2 id="summary-heading">Member and reward</h2>
      <dl>
        <dt>Member</dt>
        <dd>
          <Link to={`/members/${encodeURIComponent(r.memberId)}`}>
            {member ? member.label : <code>{r.memberId}</code>}
          </Link>
          {member && (
            <>
              {' '}
              — {member.tier}, {member.status} <code className="muted">{r.memberId}</code>
            </>
          )}
        </dd>
        <dt>Tier at request</dt>
        <dd>{r.tier ?? '—'}</dd>
        <dt>Reward</dt>
        <dd>
          {reward ? `${reward.name} (${reward.kind.replaceAll('_', ' ')}) ` : ''}
          <code>{r.rewardId}</code>
          {r.quantity > 1 ? ` × ${r.quantity}` : ''}
        </dd>
        <dt>Points</dt>
        <dd>
          {r.points ?? '—'}
          {reward && r.points === null ? ` (costs ${reward.pointsCost})` : ''}
        </dd>
        <dt>Requested</dt>
        <dd>
          <Ago at={r.createdAt} now={now} /> by {r.requestedBy}
        </dd>
      </dl>
    </section>
  );
}

/** The shipment, gift card or coupon: from `fulfilment` (apigaps) or the workflow's `live`. */
function fulfilmentOf(r: RedemptionDetail): Fulfilment {
  if (r.fulfilment) return r.fulfilment;
  const live = (r.live ?? {}) as Partial<Fulfilment>;
  return {
    shipment: live.shipment ?? null,
    giftCard: live.giftCard ?? null,
    coupon: live.coupon ?? null,
  };
}

function Fulfilment({ r, now }: { r: RedemptionDetail; now: Date | undefined }) {
  const { shipment, giftCard, coupon } = fulfilmentOf(r);
  return (
    <section className="card" aria-labelledby="fulfilment-heading">
      <h2 id="fulfilment-heading">Shipment or gift card</h2>
      {!shipment && !giftCard && !coupon && (
        <p className="state empty">Nothing sent or issued yet.</p>
      )}
      {shipment && (
        <dl>
          <dt>Shipment</dt>
          <dd>{shipment.sku ? <code>{shipment.sku}</code> : 'Parcel'}</dd>
          <dt>Tracking number</dt>
          <dd>{shipment.trackingNumber ?? 'not yet'}</dd>
          {shipment.deliveredAt && (
            <>
              <dt>Delivered</dt>
              <dd>
                <Ago at={shipment.deliveredAt} now={now} />
              </dd>
            </>
          )}
        </dl>
      )}
      {giftCard && (
        <dl>
          <dt>Gift card</dt>
          <dd>
            <code>{giftCard.cardId}</code>
            {giftCard.provider ? ` from ${giftCard.provider}` : ''}
          </dd>
          {giftCard.denomination !== undefined && (
            <>
              <dt>Value</dt>
              <dd>
                {giftCard.denomination} {giftCard.currency}
              </dd>
            </>
          )}
          <dt>Status</dt>
          <dd>{giftCard.status}</dd>
          <dt>Code</dt>
          <dd>{giftCard.code ? <code>{giftCard.code}</code> : 'hidden for your role'}</dd>
        </dl>
      )}
      {coupon && (
        <dl>
          <dt>Coupon code</dt>
          <dd>{coupon.code ? <code>{coupon.code}</code> : 'hidden for your role'}</dd>
        </dl>
      )}
    </section>
  );
}

const shownDetail = (detail: Record<string, unknown>): [string, string][] =>
  Object.entries(detail)
    .filter(([name, value]) => !['actor', 'reason'].includes(name) && value !== null)
    .map(([name, value]) => [name, typeof value === 'string' ? value : JSON.stringify(value)]);

function actorOf(step: TimelineEntry): string {
  const recorded = step.actor ?? step.detail.actor;
  return typeof recorded === 'string' ? recorded : 'system';
}

function reasonOf(step: TimelineEntry): string | null {
  const recorded = step.reason ?? step.detail.reason;
  return typeof recorded === 'string' ? recorded : null;
}

function Timeline({ r }: { r: RedemptionDetail }) {
  return (
    <section className="card timeline" aria-labelledby="timeline-heading">
      <h2 id="timeline-heading">Timeline</h2>
      <ol>
        <li>
          <span className="step">requested</span>{' '}
          <time dateTime={r.createdAt}>{new Date(r.createdAt).toLocaleString()}</time>
          <span className="actor"> by {r.requestedBy}</span>
        </li>
        {r.timeline.map((step, i) => {
          const reason = reasonOf(step);
          const extra = shownDetail(step.detail);
          return (
            <li key={`${step.step}-${i}`} data-step={step.step}>
              <span className="step">{statusLabel(step.step)}</span>{' '}
              <time dateTime={step.at}>{new Date(step.at).toLocaleString()}</time>
              <span className="actor"> by {actorOf(step)}</span>
              {reason && <p className="reason">Reason: {reason}</p>}
              {extra.length > 0 && (
                <p className="detail">
                  {extra.map(([name, value]) => (
                    <span key={name}>
                      {name}: <code>{value}</code>{' '}
                    </span>
                  ))}
                </p>
              )}
            </li>
          );
        })}
      </ol>
      {!ended.includes(r.status) && r.status !== 'returned' && (
        <p className="help">
          The redemption is still running; new steps appear here as they happen.
        </p>
      )}
    </section>
  );
}
