/** Who is signed in (GET /session), shared with every page; null when nobody is. */
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { api, ApiError, setCsrfToken, whenSessionEnds, type Session } from './api';

interface SessionState {
  /** undefined while asking the API; null when signed out. */
  session: Session | null | undefined;
  /** Why the console shows the sign-in page, when it was not by choice. */
  notice: string | null;
  signIn: (apiKey: string) => Promise<void>;
  signOut: () => Promise<void>;
}

const SessionContext = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [notice, setNotice] = useState<string | null>(null);
  const adopt = useCallback((next: Session | null) => {
    setCsrfToken(next?.csrfToken ?? null);
    setSession(next);
  }, []);

  useEffect(() => {
    whenSessionEnds(() => {
      adopt(null);
      setNotice('Your session has ended. Sign in again to go on.');
    });
    api.session().then(adopt, (err: unknown) => {
      adopt(null);
      if (!(err instanceof ApiError) || err.status !== 401) {
        setNotice(err instanceof Error ? err.message : 'The API cannot be reached.');
      }
    });
  }, [adopt]);

  const signIn = useCallback(
    async (apiKey: string) => {
      adopt(await api.signIn(apiKey));
      setNotice(null);
    },
    [adopt],
  );
  const signOut = useCallback(async () => {
    try {
      await api.signOut();
    } finally {
      adopt(null);
      setNotice('You are signed out.');
    }
  }, [adopt]);

  return (
    <SessionContext.Provider value={{ session, notice, signIn, signOut }}>
      {children}
    </SessionContext.Provider>
  );
}

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error('useSession outside SessionProvider');
  return state;
}

/** The signed-in session, in pages that only render when there is one. */
export function useSignedIn(): Session {
  const { session } = useSession();
  if (!session) throw new Error('useSignedIn without a session');
  return session;
}
