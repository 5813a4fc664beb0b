/**
 * A decision that needs a reason (cancel or return a redemption; release or void frozen points;
 * approve, reject, withdraw, schedule a rule change; sign off, go, pause, resume, roll back a
 * launch): a button opens a dialog asking for the reason (and any other field), and the server's
 * refusal ("you proposed this change") is shown in the dialog. One Idempotency-Key per opening of
 * the dialog: every retry of this one decision sends the same key.
 */
import { useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError } from '../api';
import { problemText } from '../components';

/** The server's refusal as a sentence: its detail, and field messages that add to it. */
function refusalText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (!(err instanceof ApiError)) return err.message;
  const more = (err.problem.errors ?? []).filter((e) => !err.message.includes(e.message));
  return more.length
    ? problemText(new ApiError(err.status, { ...err.problem, errors: more }))
    : err.message;
}

export interface ReasonDialogProps {
  /** The button that opens the dialog. */
  open: string;
  title: string;
  submit: string;
  /** What the dialog says the action does. */
  help?: ReactNode;
  danger?: boolean;
  /** false: the reason may be left empty. */
  reasonRequired?: boolean;
  /** Fields besides the reason (e.g. a date); checked by `send` itself. */
  extra?: ReactNode;
  /** Does the action; answers the notice shown once done. Throws to keep the dialog open. */
  send: (reason: string, idempotencyKey: string) => Promise<ReactNode>;
  done: (notice: ReactNode) => void;
}

export function ReasonDialog(props: ReasonDialogProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const key = useRef('');
  const id = useId();
  const required = props.reasonRequired ?? true;

  const open = () => {
    key.current = crypto.randomUUID();
    setError(null);
    setReason('');
    dialog.current?.showModal();
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (required && reason.trim().length < 3) {
      setError('Give a reason of at least 3 characters.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const notice = await props.send(reason.trim(), key.current);
      dialog.current?.close();
      props.done(notice);
    } catch (err) {
      setError(refusalText(err));
    } finally {
      setBusy(false);
    }
  };

  const danger = props.danger ? 'danger' : undefined;
  return (
    <>
      <button type="button" className={danger} onClick={open}>
        {props.open}
      </button>
      <dialog ref={dialog} aria-labelledby={`${id}-title`}>
        <form onSubmit={(event) => void submit(event)} noValidate>
          <h2 id={`${id}-title`}>{props.title}</h2>
          {props.help && <p className="help">{props.help}</p>}
          {props.extra}
          <label htmlFor={`${id}-reason`}>
            Reason{required ? '' : ' (optional)'} (kept in the audit trail)
          </label>
          <textarea
            id={`${id}-reason`}
            rows={3}
            value={reason}
            maxLength={500}
            required={required}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? `${id}-error` : undefined}
            onChange={(event) => setReason(event.target.value)}
          />
          {error && (
            <p id={`${id}-error`} className="state error" role="alert">
              {error}
            </p>
          )}
          <div className="dialog-buttons">
            <button type="button" onClick={() => dialog.current?.close()}>
              Close
            </button>
            <button type="submit" className={danger} disabled={busy}>
              {busy ? 'Sending…' : props.submit}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}
