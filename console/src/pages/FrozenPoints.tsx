/**
 * The member's frozen points (accruals the earning detectors flagged), each with why it was
 * flagged; ops release (spendable, expiring a lifetime from now) or void (taken off the ledger)
 * each one, the reason asked for in a dialog. One Idempotency-Key per opening of the dialog.
 */
import { useRef, useState, type FormEvent } from 'react';
import { Empty, problemText } from '../components';
import { formatDateTime, formatNumber } from '../format';
import { resources, type FrozenItem } from '../resources';

type Decision = 'release' | 'void';

export function FrozenPoints({
  memberId,
  items,
  mayDecide,
  done,
}: {
  memberId: string;
  items: FrozenItem[];
  mayDecide: boolean;
  done: (text: string) => void;
}) {
  return (
    <section className="card" aria-labelledby="frozen-heading">
      <h2 id="frozen-heading">Frozen points</h2>
      {!items.length ? (
        <Empty>Nothing frozen: no flagged accrual waits for review.</Empty>
      ) : (
        <table>
          <caption className="visually-hidden">
            Flagged accruals waiting for review, oldest first
          </caption>
          <thead>
            <tr>
              <th scope="col">Frozen</th>
              <th scope="col">Event</th>
              <th scope="col" className="number">
                Points
              </th>
              <th scope="col">Why</th>
              {mayDecide && <th scope="col">Decide</th>}
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr key={item.entryId} data-frozen-entry={item.entryId}>
                <td>{formatDateTime(item.frozenAt)}</td>
                <td>
                  <code>{item.eventId ?? `entry ${item.entryId}`}</code>
                </td>
                <td className="number">{formatNumber(item.points)}</td>
                <td>
                  <ul>
                    {item.findings.map((f) => (
                      <li key={f.id} data-detector={f.detector}>
                        <strong>{f.detector}</strong>: {f.why}
                      </li>
                    ))}
                  </ul>
                </td>
                {mayDecide && (
                  <td>
                    <DecideDialog
                      memberId={memberId}
                      entryId={item.entryId}
                      decision="release"
                      done={done}
                    />{' '}
                    <DecideDialog
                      memberId={memberId}
                      entryId={item.entryId}
                      decision="void"
                      done={done}
                    />
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const labels: Record<Decision, { open: string; title: string; done: string }> = {
  release: {
    open: 'Release…',
    title: 'Release these frozen points',
    done: 'Released: the points are spendable and expire a lot lifetime from now.',
  },
  void: {
    open: 'Void…',
    title: 'Void these frozen points',
    done: 'Voided: a reversing entry took the points off the ledger.',
  },
};

function DecideDialog({
  memberId,
  entryId,
  decision,
  done,
}: {
  memberId: string;
  entryId: number;
  decision: Decision;
  done: (text: string) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const key = useRef('');
  const text = labels[decision];
  const fieldId = `frozen-${entryId}-${decision}-reason`;

  const open = () => {
    key.current = crypto.randomUUID();
    setError(null);
    setReason('');
    dialog.current?.showModal();
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (reason.trim().length < 3) return setError('Give a reason of at least 3 characters.');
    setBusy(true);
    setError(null);
    try {
      await resources.decideFrozen(memberId, entryId, decision, reason.trim(), key.current);
      dialog.current?.close();
      done(text.done);
    } catch (err) {
      setError(err instanceof Error ? problemText(err) : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <button type="button" className={decision === 'void' ? 'danger' : undefined} onClick={open}>
        {text.open}
      </button>
      <dialog ref={dialog} aria-labelledby={`${fieldId}-title`}>
        <form onSubmit={(e) => void submit(e)} noValidate>
          <h2 id={`${fieldId}-title`}>{text.title}</h2>
          <label htmlFor={fieldId}>Reason (kept in the audit)</label>
          <textarea
            id={fieldId}
            rows={3}
            value={reason}
            maxLength={500}
            required
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? `${fieldId}-error` : undefined}
            onChange={(e) => setReason(e.target.value)}
          />
          {error && (
            <p id={`${fieldId}-error`} className="state error" role="alert">
              {error}
            </p>
          )}
          <div className="dialog-buttons">
            <button type="button" onClick={() => dialog.current?.close()}>
              Close
            </button>
            <button
              type="submit"
              className={decision === 'void' ? 'danger' : undefined}
              disabled={busy}
            >
              {busy ? 'Sending…' : decision === 'release' ? 'Release' : 'Void'}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}
