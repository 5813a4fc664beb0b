/**
 * Suspend a member (no earning, no redeeming) or reinstate a suspended one, with a reason kept in
 * the audit. One Idempotency-Key per decision as entered: a double click suspends once.
 */
import { useRef, useState, type FormEvent } from 'react';
import { problemText } from '../components';
import { resources } from '../resources';

export function SuspendForm({
  memberId,
  suspended,
  done,
}: {
  memberId: string;
  suspended: boolean;
  done: (text: string) => void;
}) {
  const action = suspended ? 'reinstate' : 'suspend';
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const key = useRef(crypto.randomUUID());

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (reason.trim().length < 3) return setError('Give a reason of at least 3 characters.');
    setBusy(true);
    try {
      const result = await resources.suspension(memberId, action, reason.trim(), key.current);
      setReason('');
      key.current = crypto.randomUUID();
      done(
        result.status === 'suspended'
          ? 'Suspended: the member earns and redeems nothing until reinstated.'
          : 'Reinstated: the member is active again.',
      );
    } catch (err) {
      setError(err instanceof Error ? problemText(err) : String(err));
    } finally {
      setBusy(false);
    }
  };

  const heading = suspended ? 'Reinstate the member' : 'Suspend the member';
  return (
    <section className="card" aria-labelledby="suspend-heading">
      <h2 id="suspend-heading">{heading}</h2>
      <form className="filters adjust" onSubmit={(e) => void submit(e)} noValidate>
        <div className="wide">
          <label htmlFor="suspend-reason">Reason (kept in the audit)</label>
          <input
            id="suspend-reason"
            value={reason}
            maxLength={500}
            onChange={(e) => {
              setReason(e.target.value);
              key.current = crypto.randomUUID();
              setError(null);
            }}
            {...(error ? { 'aria-invalid': true, 'aria-describedby': 'suspend-error' } : {})}
          />
        </div>
        <div className="submit">
          <button type="submit" disabled={busy}>
            {busy ? 'Sending…' : suspended ? 'Reinstate' : 'Suspend'}
          </button>
        </div>
      </form>
      {error && (
        <p id="suspend-error" className="state error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
