/**
 * One member, for support: balances, tier and progress to the next, next expiry, the ledger
 * explained line by line, their redemptions, their frozen points (flagged accruals) with release
 * and void, and (for ops) an adjustment with a reason and suspending or reinstating the member.
 */
import { useState, type ReactNode } from 'react';
import { may } from '../api';
import {
  Ago,
  Empty,
  ErrorState,
  Loading,
  PageHeading,
  StatusBadge,
  UpdatedAt,
  shortId,
  usePolling,
} from '../components';
import { formatDateTime, formatNumber } from '../format';
import { resources, type MemberDetail } from '../resources';
import { Link } from '../router';
import { useSignedIn } from '../session';
import { AdjustForm } from './AdjustForm';
import { FrozenPoints } from './FrozenPoints';
import { Ledger } from './Ledger';
import { SuspendForm } from './SuspendForm';

async function loadMember(id: string) {
  const [member, ledger, redemptions, frozen] = await Promise.all([
    resources.member(id),
    resources.ledger(id),
    resources.memberRedemptions(id),
    resources.frozen(id),
  ]);
  return { member, ledger, redemptions: redemptions.redemptions, frozen: frozen.items };
}

export function MemberPage({ params }: { params: Record<string, string> }) {
  const id = params.id ?? '';
  const session = useSignedIn();
  const [notice, setNotice] = useState<ReactNode>(null);
  const found = usePolling(() => loadMember(id), 0, id);
  const data = found.data;
  const title = data ? (data.member.name ?? data.member.externalId) : id;
  return (
    <section>
      <p className="crumbs">
        <Link to="/members">← Members</Link>
      </p>
      <div className="page-head">
        <PageHeading title={`Member ${title}`}>Member {title}</PageHeading>
        <div className="head-tools">
          <UpdatedAt at={found.updatedAt} />
          <button type="button" onClick={found.reload}>
            Refresh
          </button>
        </div>
      </div>
      {found.error && <ErrorState error={found.error} retry={found.reload} />}
      {!data ? (
        !found.error && <Loading what="the member" />
      ) : (
        <>
          <div className="status-line">
            <StatusBadge status={data.member.status} />
            <span>
              External id <code>{data.member.externalId}</code>
            </span>
            {data.member.email && <span>{data.member.email}</span>}
            <span>
              Enrolled <Ago at={data.member.enrolledAt} now={found.updatedAt} />
            </span>
            <a href={data.member.workflow.url} target="_blank" rel="noreferrer">
              Open the member workflow in Temporal UI
            </a>
          </div>
          {notice && (
            <p className="notice" role="status">
              {notice}
            </p>
          )}
          <div className="columns">
            <Balances m={data.member} />
            <Tier m={data.member} now={found.updatedAt} />
          </div>
          <FrozenPoints
            memberId={id}
            items={data.frozen}
            mayDecide={
              may(session, 'releaseFrozenPoints') &&
              may(session, 'voidFrozenPoints') &&
              data.member.status !== 'closed'
            }
            done={(text) => {
              setNotice(text);
              found.reload();
            }}
          />
          {may(session, 'adjustPoints') && data.member.status !== 'closed' && (
            <AdjustForm
              memberId={id}
              done={(text) => {
                setNotice(text);
                found.reload();
              }}
            />
          )}
          {may(session, data.member.status === 'suspended' ? 'reinstateMember' : 'suspendMember') &&
            data.member.status !== 'closed' && (
              <SuspendForm
                memberId={id}
                suspended={data.member.status === 'suspended'}
                done={(text) => {
                  setNotice(text);
                  found.reload();
                }}
              />
            )}
          <Ledger entries={data.ledger.entries} more={data.ledger.more} />
          <Redemptions rows={data.redemptions} now={found.updatedAt} />
        </>
      )}
    </section>
  );
}

export const totalOf = (b: MemberDetail['balance']): number =>
  b.available + b.pending + b.held - b.debt;

function Balances({ m }: { m: MemberDetail }) {
  const rows: [string, string, number][] = [
    ['available', 'Available (spendable now)', m.balance.available],
    ['pending', 'Pending (return window)', m.balance.pending],
    ['held', 'Held for redemptions', m.balance.held],
    ['debt', 'Debt (spent, then reversed)', m.balance.debt],
  ];
  return (
    <section className="card" aria-labelledby="balances-heading">
      <h2 id="balances-heading">Balances</h2>
      <dl className="figures">
        {rows.map(([name, label, value]) => (
          <div key={name} data-balance={name}>
            <dt>{label}</dt>
            <dd>{formatNumber(value)}</dd>
          </div>
        ))}
        <div data-balance="total" className="total">
          <dt>Total (available + pending + held − debt)</dt>
          <dd>{formatNumber(totalOf(m.balance))}</dd>
        </div>
        {m.frozen > 0 && (
          <div data-balance="frozen">
            <dt>Frozen (flagged, waiting for review; not spendable)</dt>
            <dd>{formatNumber(m.frozen)}</dd>
          </div>
        )}
      </dl>
    </section>
  );
}

function Tier({ m, now }: { m: MemberDetail; now: Date | undefined }) {
  const { tier, nextExpiry } = m;
  return (
    <section className="card" aria-labelledby="tier-heading">
      <h2 id="tier-heading">Tier {tier.name}</h2>
      <dl>
        <dt>Qualifying points</dt>
        <dd>{formatNumber(tier.qualifyingPoints)} in the rolling window</dd>
        <dt>Qualifies for</dt>
        <dd>{tier.qualifiesFor}</dd>
        <dt>Next tier</dt>
        <dd>
          {tier.next ? (
            <>
              {tier.next.name}: {formatNumber(tier.next.pointsToGo)} points to go{' '}
              <progress
                max={tier.next.qualifyingPoints}
                value={Math.min(tier.qualifyingPoints, tier.next.qualifyingPoints)}
                aria-label={`Progress to ${tier.next.name}`}
              />
            </>
          ) : (
            'top tier'
          )}
        </dd>
        {tier.periodEndsAt && (
          <>
            <dt>Tier period ends</dt>
            <dd>{formatDateTime(tier.periodEndsAt)}</dd>
          </>
        )}
        {tier.graceEndsAt && (
          <>
            <dt>Grace ends</dt>
            <dd>{formatDateTime(tier.graceEndsAt)}</dd>
          </>
        )}
        <dt>Next expiry</dt>
        <dd data-next-expiry>
          {nextExpiry
            ? `${formatNumber(nextExpiry.points)} points on ${formatDateTime(nextExpiry.at)}`
            : 'nothing due to expire'}
        </dd>
        <dt>Last activity</dt>
        <dd>{m.lastActivityAt ? <Ago at={m.lastActivityAt} now={now} /> : 'none yet'}</dd>
      </dl>
    </section>
  );
}

function Redemptions({
  rows,
  now,
}: {
  rows: Awaited<ReturnType<typeof loadMember>>['redemptions'];
  now: Date | undefined;
}) {
  return (
    <section className="card" aria-labelledby="member-redemptions-heading">
      <h2 id="member-redemptions-heading">Redemptions</h2>
      {!rows.length ? (
        <Empty>No redemptions yet.</Empty>
      ) : (
        <table>
          <caption className="visually-hidden">The member’s redemptions, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Requested</th>
              <th scope="col">Redemption</th>
              <th scope="col">Reward</th>
              <th scope="col" className="number">
                Points
              </th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.redemptionId} data-redemption={r.redemptionId}>
                <td>
                  <Ago at={r.createdAt} now={now} />
                </td>
                <td>
                  <Link
                    to={`/redemptions/${encodeURIComponent(r.redemptionId)}`}
                    title={r.redemptionId}
                  >
                    <code>{shortId(r.redemptionId)}</code>
                  </Link>
                </td>
                <td>
                  <code>{r.rewardId}</code>
                  {r.quantity > 1 ? ` × ${r.quantity}` : ''}
                </td>
                <td className="number">{r.points === null ? '—' : formatNumber(r.points)}</td>
                <td>
                  <StatusBadge status={r.status} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
