/**
 * Deciding one pending substitution: choose a candidate and approve, or reject; a reason either
 * way (kept with the decision). One Idempotency-Key per decision as entered: a retry of the same
 * (a double click, a lost answer) is decided once; changing the choice or the reason is a new one.
 */
import { useRef, useState, type FormEvent, type ReactNode } from 'react';
import { problemText } from '../components';
import { resources, type Substitution } from '../resources';
import { Link } from '../router';
import { CandidatesTable } from './CandidatesTable';

const newKeys = () => ({ approve: crypto.randomUUID(), reject: crypto.randomUUID() });

export function Decision({ s, decided }: { s: Substitution; decided: (text: ReactNode) => void }) {
  const [sku, setSku] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const keys = useRef(newKeys());
  const changed = () => {
    keys.current = newKeys();
    setError(null);
  };
  const id = s.redemptionId;
  const redemption = (
    <Link to={`/redemptions/${encodeURIComponent(id)}`}>
      redemption <code>{id}</code>
    </Link>
  );

  const send = async (approve: boolean) => {
    if (approve && !sku) return setError('Choose the candidate to send instead.');
    if (reason.trim().length < 3) return setError('Give a reason of at least 3 characters.');
    setBusy(true);
    setError(null);
    try {
      if (approve) {
        await resources.approveSubstitution(id, sku, reason.trim(), keys.current.approve);
        const name = s.candidates.find((c) => c.sku === sku)?.name ?? sku;
        decided(
          <>
            Approved: {name} (<code>{sku}</code>) ships for {redemption}.
          </>,
        );
      } else {
        await resources.rejectSubstitution(id, reason.trim(), keys.current.reject);
        decided(
          <>Rejected: {redemption} is refunded, or waits for stock if the member opted in.</>,
        );
      }
    } catch (err) {
      setError(err instanceof Error ? problemText(err) : String(err));
    } finally {
      setBusy(false);
    }
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void send(true);
  };

  const reasonId = `reason-${id}`;
  return (
    <form className="decision" onSubmit={submit} noValidate>
      <fieldset>
        <legend>Send instead (closest in value first)</legend>
        {!s.candidates.length && <p className="state empty">No candidate was in stock.</p>}
        <CandidatesTable
          s={s}
          choose={(c, name) => (
            <label>
              <input
                type="radio"
                name={`candidate-${id}`}
                value={c.sku}
                checked={sku === c.sku}
                disabled={c.available <= 0}
                onChange={() => {
                  setSku(c.sku);
                  changed();
                }}
              />{' '}
              {name}
            </label>
          )}
        />
      </fieldset>
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
          changed();
        }}
      />
      {error && (
        <p id={`${reasonId}-error`} className="state error" role="alert">
          {error}
        </p>
      )}
      <div className="actions">
        <button type="submit" disabled={busy || !s.candidates.length}>
          {busy ? 'Sending…' : 'Approve substitute'}
        </button>
        <button type="button" className="danger" disabled={busy} onClick={() => void send(false)}>
          Reject substitution
        </button>
      </div>
    </form>
  );
}
