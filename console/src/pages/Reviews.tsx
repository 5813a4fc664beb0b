/**
 * Redemptions held for review (`in_review`): each with why it was held, its points and the
 * deadline counting down, and (for roles that may decide) approve or reject with a reason. One
 * Idempotency-Key per decision as entered: a retry of the same is decided once.
 */
import { useRef, useState, type ReactNode } from 'react';
import { may } from '../api';
import {
  Ago,
  Empty,
  ErrorState,
  Loading,
  PageHeading,
  UpdatedAt,
  problemText,
  usePolling,
} from '../components';
import { resources, type Detector, type Review } from '../resources';
import { Link } from '../router';
import { useSignedIn } from '../session';
import { detectorLabels } from './Anomalies';
import { pollMs } from './Queue';
import { Countdown } from './Substitutions';

export function Reviews() {
  const session = useSignedIn();
  const [notice, setNotice] = useState<ReactNode>(null);
  const list = usePolling(() => resources.reviews(), pollMs, '');
  const mayDecide = may(session, 'reviewRedemption');
  const decided = (text: ReactNode) => {
    setNotice(text);
    list.reload();
  };
  return (
    <section aria-labelledby="reviews-heading">
      <div className="page-head">
        <PageHeading title="Reviews">
          <span id="reviews-heading">Redemptions held for review</span>
        </PageHeading>
        <UpdatedAt at={list.updatedAt} />
      </div>
      <p className="help">
        These redemptions wait with their points held. Approve (fulfilment goes on) or reject (the
        points go back). Undecided at the deadline, the programme&apos;s policy decides.
      </p>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {!mayDecide && (
        <p className="help">Your role ({session.role}) can view reviews, not decide them.</p>
      )}
      {list.error && <ErrorState error={list.error} retry={list.reload} />}
      {!list.data ? (
        !list.error && <Loading what="the reviews" />
      ) : !list.data.reviews.length ? (
        <Empty>No redemption is held for review.</Empty>
      ) : (
        <ul className="substitutions">
          {list.data.reviews.map((r) => (
            <li key={r.redemptionId} data-review={r.redemptionId}>
              <ReviewCard r={r} mayDecide={mayDecide} decided={decided} now={list.updatedAt} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function ReviewCard(props: {
  r: Review;
  mayDecide: boolean;
  decided: (text: ReactNode) => void;
  now: Date | undefined;
}) {
  const { r, mayDecide, decided, now } = props;
  const headingId = `review-${r.redemptionId}`;
  return (
    <article className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>
        Redemption{' '}
        <Link to={`/redemptions/${encodeURIComponent(r.redemptionId)}`}>
          <code>{r.redemptionId}</code>
        </Link>
      </h2>
      <dl>
        <dt>Reward</dt>
        <dd>
          <code>{r.rewardId}</code> × {r.quantity} ({r.points ?? '?'} points held)
        </dd>
        <dt>Member</dt>
        <dd>
          <Link to={`/members/${r.memberId}`}>
            <code>{r.memberId}</code>
          </Link>
        </dd>
        <dt>Held</dt>
        <dd>
          <Ago at={r.createdAt} now={now} />
        </dd>
        {r.deadlineAt && (
          <>
            <dt>Deadline</dt>
            <dd>
              <Countdown at={r.deadlineAt} /> then{' '}
              {r.onTimeout === 'release' ? 'approved' : 'rejected'}
            </dd>
          </>
        )}
      </dl>
      <ul className="reasons" aria-label="Why it was held">
        {r.reasons.map((reason, i) => (
          <li key={i} data-source={reason.source}>
            <strong>{reasonLabel(reason.source)}</strong>: {reason.summary}
          </li>
        ))}
      </ul>
      {mayDecide && <ReviewDecision r={r} decided={decided} />}
    </article>
  );
}

/** `anomaly.redemptionVelocity` → `Anomaly: Redemption velocity`; other sources as they are. */
function reasonLabel(source: string): string {
  const detector = source.startsWith('anomaly.') ? source.slice('anomaly.'.length) : null;
  if (detector === null) return source;
  return `Anomaly: ${detectorLabels[detector as Detector] ?? detector}`;
}

const newKeys = () => ({ approve: crypto.randomUUID(), reject: crypto.randomUUID() });

function ReviewDecision({ r, decided }: { r: Review; decided: (text: ReactNode) => void }) {
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const keys = useRef(newKeys());
  const id = r.redemptionId;
  const send = async (decision: 'approve' | 'reject') => {
    if (reason.trim().length < 3) return setError('Give a reason of at least 3 characters.');
    setBusy(true);
    setError(null);
    try {
      await resources.decideReview(id, decision, reason.trim(), keys.current[decision]);
      const link = (
        <Link to={`/redemptions/${encodeURIComponent(id)}`}>
          redemption <code>{id}</code>
        </Link>
      );
      decided(
        decision === 'approve' ? (
          <>Approved: {link} goes on to fulfilment.</>
        ) : (
          <>Rejected: {link} is cancelled and the points go back.</>
        ),
      );
    } catch (err) {
      setError(err instanceof Error ? problemText(err) : String(err));
    } finally {
      setBusy(false);
    }
  };
  const reasonId = `review-reason-${id}`;
  return (
    <form className="decision" onSubmit={(e) => e.preventDefault()} noValidate>
      <label htmlFor={reasonId}>Reason (kept with the decision)</label>
      <textarea
        id={reasonId}
        rows={2}
        value={reason}
        maxLength={500}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${reasonId}-error` : undefined}
        onChange={(e) => {
          setReason(e.target.value);
          keys.current = newKeys();
          setError(null);
        }}
      />
      {error && (
        <p id={`${reasonId}-error`} className="state error" role="alert">
          {error}
        </p>
      )}
      <div className="actions">
        <button type="button" disabled={busy} onClick={() => void send('approve')}>
          {busy ? 'Sending…' : 'Approve redemption'}
        </button>
        <button
          type="button"
          className="danger"
          disabled={busy}
          onClick={() => void send('reject')}
        >
          Reject redemption
        </button>
      </div>
    </form>
  );
}
