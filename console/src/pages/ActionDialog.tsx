/** Cancel or return a redemption: a dialog asks for the reason; one Idempotency-Key per attempt. */
import { useRef, useState, type FormEvent } from 'react';
import { api, type RedemptionAction } from '../api';
import { problemText } from '../components';

type DialogAction = Exclude<RedemptionAction, 'review'>;

const labels: Record<DialogAction, { open: string; title: string; submit: string; done: string }> =
  {
    cancel: {
      open: 'Cancel redemption…',
      title: 'Cancel this redemption',
      submit: 'Cancel redemption',
      done: 'Cancelled: stock and points are given back.',
    },
    return: {
      open: 'Record a return…',
      title: 'Record a return',
      submit: 'Record the return',
      done: 'Return recorded: the points are refunded after the tier’s delay.',
    },
  };

export function ActionDialog({
  id,
  action,
  done,
}: {
  id: string;
  action: DialogAction;
  done: (message: string) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // The same key for every retry of this one decision, a new one when the dialog opens again.
  const key = useRef('');
  const text = labels[action];

  const open = () => {
    key.current = crypto.randomUUID();
    setError(null);
    setReason('');
    dialog.current?.showModal();
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (reason.trim().length < 3) {
      setError('Give a reason of at least 3 characters.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.act(id, action, reason.trim(), key.current);
      dialog.current?.close();
      done(text.done);
    } catch (err) {
      setError(err instanceof Error ? problemText(err) : String(err));
    } finally {
      setBusy(false);
    }
  };

  const fieldId = `${action}-reason`;
  return (
    <>
      <button type="button" className={action === 'cancel' ? 'danger' : undefined} onClick={open}>
        {text.open}
      </button>
      <dialog ref={dialog} aria-labelledby={`${action}-title`}>
        <form onSubmit={(event) => void submit(event)} noValidate>
          <h2 id={`${action}-title`}>{text.title}</h2>
          <label htmlFor={fieldId}>Reason (kept in the timeline)</label>
          <textarea
            id={fieldId}
            rows={3}
            value={reason}
            maxLength={500}
            required
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? `${fieldId}-error` : undefined}
            onChange={(event) => setReason(event.target.value)}
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
              className={action === 'cancel' ? 'danger' : undefined}
              disabled={busy}
            >
              {busy ? 'Sending…' : text.submit}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}
