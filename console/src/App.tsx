/**
 * The shell: who is signed in, the navigation, and the page for the address. Pages the role may
 * not use are neither listed nor shown; the server refuses their calls regardless.
 */
import type { ComponentType } from 'react';
import { may, type Session } from './api';
import { Loading } from './components';
import { Catalog } from './pages/Catalog';
import { LaunchPage } from './pages/Launch';
import { Launches } from './pages/Launches';
import { HealthPage } from './pages/Health';
import { MemberPage } from './pages/Member';
import { Members } from './pages/Members';
import { Placeholder } from './pages/Placeholder';
import { Queue } from './pages/Queue';
import { RedemptionPage } from './pages/Redemption';
import { RuleChangePage } from './pages/RuleChange';
import { RuleChanges } from './pages/RuleChanges';
import { SignIn } from './pages/SignIn';
import { Reviews } from './pages/Reviews';
import { Anomalies } from './pages/Anomalies';
import { Substitutions } from './pages/Substitutions';
import { Link, match, usePath } from './router';
import { SessionProvider, useSession } from './session';

export interface Page {
  path: string;
  /** Shown in the navigation when set. */
  nav?: string;
  /** The operation the page reads with: a role without it does not see the page. */
  needs: string;
  component: ComponentType<{ params: Record<string, string> }>;
}

/** Add a page here (and its nav label); the next pages replace the placeholders. */
export const pages: Page[] = [
  { path: '/', nav: 'Queue', needs: 'listRedemptions', component: Queue },
  { path: '/redemptions/:id', needs: 'getRedemption', component: RedemptionPage },
  {
    path: '/substitutions',
    nav: 'Substitutions',
    needs: 'listSubstitutions',
    component: Substitutions,
  },
  { path: '/reviews', nav: 'Reviews', needs: 'listReviews', component: Reviews },
  { path: '/anomalies', nav: 'Anomalies', needs: 'listAnomalies', component: Anomalies },
  { path: '/members', nav: 'Members', needs: 'lookupMembers', component: Members },
  { path: '/members/:id', needs: 'getMember', component: MemberPage },
  { path: '/health', nav: 'Programme health', needs: 'programHealth', component: HealthPage },
  { path: '/catalog', nav: 'Catalog', needs: 'listRewards', component: Catalog },
  { path: '/rule-changes', nav: 'Rule changes', needs: 'listRuleChanges', component: RuleChanges },
  { path: '/rule-changes/:id', needs: 'getRuleChange', component: RuleChangePage },
  { path: '/launches', nav: 'Launches', needs: 'listLaunches', component: Launches },
  { path: '/launches/:id', needs: 'getLaunch', component: LaunchPage },
];

function Shell({ session }: { session: Session }) {
  const path = usePath();
  const { signOut } = useSession();
  const visible = pages.filter((page) => may(session, page.needs));
  const found = visible
    .map((page) => ({ page, params: match(page.path, path) }))
    .find((candidate) => candidate.params);
  const active = (page: Page) =>
    page.path === '/'
      ? path === '/' || path.startsWith('/redemptions/')
      : path.startsWith(page.path);
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">loyalty-ops</span>
        <nav aria-label="Pages">
          <ul>
            {visible
              .filter((page) => page.nav)
              .map((page) => (
                <li key={page.path}>
                  <Link to={page.path} aria-current={active(page) ? 'page' : undefined}>
                    {page.nav}
                  </Link>
                </li>
              ))}
          </ul>
        </nav>
        <div className="who">
          <span>
            Signed in as <strong>{session.name}</strong>{' '}
            <span className={`badge role role-${session.role}`}>{session.role}</span>
          </span>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        {found ? (
          <found.page.component params={found.params ?? {}} />
        ) : (
          <Placeholder title="Page not found" missing />
        )}
      </main>
    </>
  );
}

function Root() {
  const { session } = useSession();
  if (session === undefined) {
    return (
      <main id="main">
        <Loading what="the console" />
      </main>
    );
  }
  return session ? <Shell session={session} /> : <SignIn />;
}

export function App() {
  return (
    <SessionProvider>
      <Root />
    </SessionProvider>
  );
}
