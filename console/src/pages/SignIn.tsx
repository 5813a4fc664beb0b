import { useState, type FormEvent } from 'react';
import { ApiError } from '../api';
import { PageHeading } from '../components';
import { useSession } from '../session';

/** An API key exchanged for a session; the key itself is not kept by the console. */
export function SignIn() {
  const { signIn, notice } = useSession();
  const [apiKey, setApiKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(apiKey.trim());
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? 'That API key is not valid: it is unknown or has been revoked. Check it and try again.'
          : err instanceof Error
            ? err.message
            : 'Signing in failed.',
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" className="sign-in">
      <PageHeading title="Sign in">Sign in to the loyalty-ops console</PageHeading>
      {notice && !error && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={(event) => void submit(event)} noValidate>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="apiKey"
          type="password"
          autoComplete="off"
          spellCheck={false}
          required
          value={apiKey}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'sign-in-error key-help' : 'key-help'}
          onChange={(event) => setApiKey(event.target.value)}
        />
        <p id="key-help" className="help">
          Your API key (<code>lok_…</code>). Running locally, <code>npm start</code> prints the
          admin key and keeps it in <code>.data/local-admin-key</code>.
        </p>
        {error && (
          <p id="sign-in-error" className="state error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || !apiKey.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
