/**
 * One redemption: its timeline (each step with time, actor and reason), the member, the reward,
 * the shipment or gift card, and the actions allowed now (cancel, return, settle a stranded hold)
 * with a reason asked for.
 */
import { useState, type ReactNode } from 'react';
import { api, may, type RedemptionDetail, type Session } from '../api';
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
import { ActionDialog, SettleDialog } from './ActionDialog';
import { Link } from '../router';
import { useSignedIn } from '../session';
import { useEvents } from '../events';

const slaRefreshMs = 60_000;

const ended = ['completed', 'refunded', 'failed', 'cancelled', 'lost'];

export function RedemptionPage({ params }: { params: Record<string, string> }) {
  const id = params.id ?? '';
  const session = useSignedIn();
  // Pushed, not polled: read again on each step the API streams; the slow refresh is for the
  // SLA clock (at risk, breached), which moves with time rather than with steps.
  const found = usePolling(() => api.redemption(id), slaRefreshMs, id);
  // An action (a return) may revive an ended redemption: listen again after each.
  const [acted, setActed] = useState(0);
  useEvents(`/redemptions/${encodeURIComponent(id)}/events`, found.reload, `${id}:${acted}`);
  const done = () => {
    found.reload();
    setActed((n) => n + 1);
  };
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
            <SlaBadge atRisk={r.atRisk} breached={r.slaBreached} />
            {r.slaDeadline && (
              <span className="sla-deadline">
                To be delivered by{' '}
                <time dateTime={r.slaDeadline}>{new Date(r.slaDeadline).toLocaleString()}</time>
              </span>
            )}
            {r.reason && <span className="reason">Reason: {r.reason}</span>}
            <a href={r.workflow.url} target="_blank" rel="noreferrer">
              Open the workflow in Temporal UI
            </a>
          </div>
          <Actions session={session} redemption={r} done={done} />
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
  const [message, setMessage] = useState<ReactNode>(null);
  // What the API says this caller may do now; the server refuses anything else.
  const actions = redemption.allowedActions;
  const finished = (text: ReactNode) => {
    setMessage(text);
    done();
  };
  let body: ReactNode;
  const operations = ['cancelRedemption', 'returnRedemption', 'settleRedemption'];
  if (!operations.some((operation) => may(session, operation))) {
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
        {actions.map((action) =>
          // A review is decided on the review queue, where the reasons are shown.
          action === 'review' ? (
            <Link key={action} to="/reviews">
              Decide in the review queue
            </Link>
          ) : action === 'settle' ? (
            (['spend', 'release'] as const).map((how) => (
              <SettleDialog key={how} id={redemption.redemptionId} action={how} done={finished} />
            ))
          ) : (
            <ActionDialog
              key={action}
              id={redemption.redemptionId}
              action={action}
              done={finished}
            />
          ),
        )}
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

function Summary({ r, now }: { r: RedemptionDetail; now: Date | undefined }) {
  const { member, reward } = r;
  return (
    <section className="card" aria-labelledby="summary-heading">
      <h2 id="summary-heading">Member and reward</h2>
      <dl>
        <dt>Member</dt>
        <dd>
          <Link to={`/members/${encodeURIComponent(r.memberId)}`}>
            {member ? (member.name ?? member.externalId) : <code>{r.memberId}</code>}
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

/** A code as the API gave it: masked (`*` but the last 4) for roles that may not read codes. */
function Code({ code }: { code: string }) {
  if (!code.startsWith('*')) return <code>{code}</code>;
  return (
    <>
      <code>{code}</code> <span className="help">(masked for your role)</span>
    </>
  );
}

function Fulfilment({ r, now }: { r: RedemptionDetail; now: Date | undefined }) {
  const { shipment, giftCard, coupon } = r.fulfilment;
  return (
    <section className="card" aria-labelledby="fulfilment-heading">
      <h2 id="fulfilment-heading">Shipment or gift card</h2>
      {!shipment && !giftCard && !coupon && (
        <p className="state empty">Nothing sent or issued yet.</p>
      )}
      {shipment && (
        <dl>
          <dt>Shipment</dt>
          <dd>
            <code>{shipment.sku}</code>
          </dd>
          <dt>Tracking number</dt>
          <dd>{shipment.trackingNumber ?? 'not yet'}</dd>
          {shipment.shippedAt && (
            <>
              <dt>Shipped</dt>
              <dd>
                <Ago at={shipment.shippedAt} now={now} />
              </dd>
            </>
          )}
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
            <code>{giftCard.cardId}</code> from {giftCard.provider}
          </dd>
          <dt>Value</dt>
          <dd>
            {giftCard.denomination} {giftCard.currency}
          </dd>
          <dt>Status</dt>
          <dd>{giftCard.status}</dd>
          <dt>Issued</dt>
          <dd>
            <Ago at={giftCard.issuedAt} now={now} />
          </dd>
          <dt>Code</dt>
          <dd>
            <Code code={giftCard.code} />
          </dd>
        </dl>
      )}
      {coupon && (
        <dl>
          <dt>Coupon code</dt>
          <dd>
            <Code code={coupon.code} />
          </dd>
        </dl>
      )}
    </section>
  );
}

const shownDetail = (detail: Record<string, unknown>): [string, string][] =>
  Object.entries(detail)
    .filter(([name, value]) => !['actor', 'reason'].includes(name) && value !== null)
    .map(([name, value]) => [name, typeof value === 'string' ? value : JSON.stringify(value)]);

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
          const reason = step.reason;
          const extra = shownDetail(step.detail);
          return (
            <li key={`${step.step}-${i}`} data-step={step.step}>
              <span className="step">{statusLabel(step.step)}</span>{' '}
              <time dateTime={step.at}>{new Date(step.at).toLocaleString()}</time>
              <span className="actor"> by {step.actor}</span>
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
