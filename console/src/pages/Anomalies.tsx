/**
 * What the anomaly detectors found, newest first: which detector, about which member and what
 * (a redemption links to its page, where a held one is decided), what was seen against the
 * threshold it crossed, and why it fired. Filter by detector. Read-only: findings are records.
 */
import { useState } from 'react';
import { Ago, Empty, ErrorState, Loading, PageHeading, UpdatedAt, usePolling } from '../components';
import { formatDateTime } from '../format';
import { resources, type Anomaly, type Detector } from '../resources';
import { Link } from '../router';
import { pollMs } from './Queue';

/** Every detector the API knows (the type is the API's: a new one fails the typecheck here). */
export const detectorLabels: Record<Detector, string> = {
  earningVelocity: 'Earning velocity',
  redemptionVelocity: 'Redemption velocity',
  newAccountRedemption: 'New account redeeming',
  burstThenRedeem: 'Burst then redeem',
  redemptionSpike: 'Redemption spike',
  unusualCountry: 'Unusual country',
  impossibleTravel: 'Impossible travel',
  linkedAccounts: 'Linked accounts',
};

const detectors = Object.keys(detectorLabels) as Detector[];

export function Anomalies() {
  const [detector, setDetector] = useState<Detector | ''>('');
  const list = usePolling(() => resources.anomalies(detector || undefined), pollMs, detector);
  return (
    <section aria-labelledby="anomalies-heading">
      <div className="page-head">
        <PageHeading title="Anomalies">
          <span id="anomalies-heading">Anomalies found</span>
        </PageHeading>
        <UpdatedAt at={list.updatedAt} />
      </div>
      <p className="help">
        What the anomaly detectors found, newest first. A redemption they flag waits in{' '}
        <Link to="/reviews">Reviews</Link> for a person to approve or reject. Thresholds are
        programme policy (<code>detection</code> in the rules).
      </p>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div>
          <label htmlFor="anomaly-detector">Detector</label>
          <select
            id="anomaly-detector"
            value={detector}
            onChange={(e) => setDetector(e.target.value as Detector | '')}
          >
            <option value="">Every detector</option>
            {detectors.map((d) => (
              <option key={d} value={d}>
                {detectorLabels[d]}
              </option>
            ))}
          </select>
        </div>
      </form>
      {list.error && <ErrorState error={list.error} retry={list.reload} />}
      {!list.data ? (
        !list.error && <Loading what="the findings" />
      ) : !list.data.anomalies.length ? (
        <Empty>
          {detector ? `${detectorLabels[detector]} found nothing.` : 'No anomaly found yet.'}
        </Empty>
      ) : (
        <>
          <FindingTable findings={list.data.anomalies} now={list.updatedAt} />
          {list.data.nextAfter !== null && (
            <p className="help">The newest {list.data.anomalies.length} are shown.</p>
          )}
        </>
      )}
    </section>
  );
}

/** `{ events: 3, window: '1 hour' }` → `events 3, window 1 hour`. */
export function facts(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join('/') : String(v)}`)
    .join(', ');
}

function Subject({ f }: { f: Anomaly }) {
  if (f.redemptionId) {
    return (
      <>
        Redemption{' '}
        <Link to={`/redemptions/${encodeURIComponent(f.redemptionId)}`}>
          <code>{f.redemptionId}</code>
        </Link>
      </>
    );
  }
  return <code>{f.subject}</code>;
}

function FindingTable({ findings, now }: { findings: Anomaly[]; now: Date | undefined }) {
  return (
    <table className="anomalies">
      <caption className="visually-hidden">Findings, newest first</caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Detector</th>
          <th scope="col">Member</th>
          <th scope="col">About</th>
          <th scope="col">Seen</th>
          <th scope="col">Threshold</th>
          <th scope="col">Why</th>
        </tr>
      </thead>
      <tbody>
        {findings.map((f) => (
          <tr key={f.id} data-finding={f.id} data-detector={f.detector}>
            <td title={formatDateTime(f.at)}>
              <Ago at={f.at} now={now} />
            </td>
            <td>{detectorLabels[f.detector]}</td>
            <td>
              {f.memberId ? (
                <Link to={`/members/${f.memberId}`}>
                  <code>{f.memberId}</code>
                </Link>
              ) : (
                'programme-wide'
              )}
            </td>
            <td>
              <Subject f={f} />
            </td>
            <td data-seen>{facts(f.seen)}</td>
            <td data-threshold>{facts(f.threshold)}</td>
            <td data-why>{f.why}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
