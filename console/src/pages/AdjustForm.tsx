/**
 * An ops adjustment: points to add (positive) or remove (negative), with a reason and an optional
 * ticket. One Idempotency-Key per adjustment as entered: sending it again (a double click, a lost
 * answer) adjusts once; changing any field makes it a new adjustment.
 */
import { useRef, useState, type FormEvent } from 'react';
import { problemText } from '../components';
import { formatNumber, formatSigned } from '../format';
import { resources } from '../resources';

export function AdjustForm({ memberId, done }: { memberId: string; done: (text: string) => void }) {
  const [points, setPoints] = useState('');
  const [reason, setReason] = useState('');
  const [reference, setReference] = useState('');
  const [error, setError] = useState<{ field: string; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const key = useRef(crypto.randomUUID());
  const edit = (set: (value: string) => void) => (value: string) => {
    set(value);
    key.current = crypto.randomUUID();
    setError(null);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const n = Number(points);
    if (!/^-?\d+$/.test(points.trim()) || n === 0) {
      return setError({
        field: 'points',
        text: 'Points: a whole number, not 0 (negative removes).',
      });
    }
    if (reason.trim().length < 3) {
      return setError({ field: 'reason', text: 'Give a reason of at least 3 characters.' });
    }
    setBusy(true);
    try {
      const body = {
        points: n,
        reason: reason.trim(),
        ...(reference.trim() ? { reference: reference.trim() } : {}),
      };
      const result = await resources.adjust(memberId, body, key.current);
      setPoints('');
      setReason('');
      setReference('');
      key.current = crypto.randomUUID();
      done(
        `Adjusted by ${formatSigned(n)} points: available now ${formatNumber(result.balance.available)}.`,
      );
    } catch (err) {
      setError({ field: 'form', text: err instanceof Error ? problemText(err) : String(err) });
    } finally {
      setBusy(false);
    }
  };

  const invalid = (field: string) =>
    error?.field === field ? { 'aria-invalid': true, 'aria-describedby': 'adjust-error' } : {};
  return (
    <section className="card" aria-labelledby="adjust-heading">
      <h2 id="adjust-heading">Adjust points</h2>
      <form className="filters adjust" onSubmit={(e) => void submit(e)} noValidate>
        <div>
          <label htmlFor="adjust-points">Points (negative removes)</label>
          <input
            id="adjust-points"
            inputMode="numeric"
            value={points}
            size={10}
            onChange={(e) => edit(setPoints)(e.target.value)}
            {...invalid('points')}
          />
        </div>
        <div className="wide">
          <label htmlFor="adjust-reason">Reason (kept in the ledger)</label>
          <input
            id="adjust-reason"
            value={reason}
            maxLength={500}
            onChange={(e) => edit(setReason)(e.target.value)}
            {...invalid('reason')}
          />
        </div>
        <div>
          <label htmlFor="adjust-reference">Ticket (optional)</label>
          <input
            id="adjust-reference"
            value={reference}
            maxLength={200}
            size={14}
            onChange={(e) => edit(setReference)(e.target.value)}
          />
        </div>
        <div className="submit">
          <button type="submit" disabled={busy}>
            {busy ? 'Sending…' : 'Adjust'}
          </button>
        </div>
      </form>
      {error && (
        <p id="adjust-error" className="state error" role="alert">
          {error.text}
        </p>
      )}
    </section>
  );
}
