/**
 * The owners' sign-offs, per area: who owns it, whether they signed off (when, why). The signed-in
 * owner of an area gets Sign off (or Withdraw) for that area, before go-live; the server decides.
 */
import type { ReactNode } from 'react';
import type { Session } from '../api';
import { formatDateTime } from '../format';
import { launches, type Launch, type Signoff } from './LaunchApi';
import { ReasonDialog } from './ReasonDialog';

const beforeGoLive = ['preparing', 'ready', 'waiting'];

/** The audit actor of the signed-in session, as the plan names owners: `<role>:<key name>`. */
export const actorOf = (session: Session): string => `${session.role}:${session.name}`;

export function Signoffs({
  session,
  launch,
  done,
}: {
  session: Session;
  launch: Launch;
  done: (notice: ReactNode) => void;
}) {
  const me = actorOf(session);
  const open = beforeGoLive.includes(launch.state);
  const signed = launch.signoffs.filter((s) => s.signed).length;
  return (
    <section className="card" aria-labelledby="signoffs-heading">
      <h2 id="signoffs-heading">
        Sign-offs: {signed} of {launch.signoffs.length}
      </h2>
      <p className="help">
        Each named owner signs off that their team is briefed and ready; only that owner can, before
        go-live. You are {me}.
      </p>
      <table className="signoffs">
        <caption className="visually-hidden">Sign-offs per area</caption>
        <thead>
          <tr>
            <th scope="col">Area</th>
            <th scope="col">Owner</th>
            <th scope="col">Sign-off</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {launch.signoffs.map((s) => (
            <tr key={s.area} data-area={s.area}>
              <th scope="row">{s.area}</th>
              <td>{s.owner}</td>
              <td>{signedText(s)}</td>
              <td>
                {open && s.owner === me ? (
                  <SignoffButton launchId={launch.id} s={s} done={done} />
                ) : (
                  <span className="muted">—</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function signedText(s: Signoff): string {
  if (!s.signed) return 'not yet';
  const when = s.at ? ` ${formatDateTime(s.at)}` : '';
  return `✓ signed off${when}${s.reason ? ` — ${s.reason}` : ''}`;
}

function SignoffButton({
  launchId,
  s,
  done,
}: {
  launchId: string;
  s: Signoff;
  done: (notice: ReactNode) => void;
}) {
  if (!s.signed)
    return (
      <ReasonDialog
        open={`Sign off for ${s.area}…`}
        title={`Sign off for ${s.area}`}
        submit="Sign off"
        reasonRequired={false}
        help={`That the ${s.area} team is briefed and ready for this launch.`}
        send={async (reason, key) => {
          await launches.signOff(launchId, s.area, reason, key);
          return `Signed off for ${s.area}.`;
        }}
        done={done}
      />
    );
  return (
    <ReasonDialog
      open={`Withdraw ${s.area} sign-off…`}
      title={`Withdraw the ${s.area} sign-off`}
      submit="Withdraw sign-off"
      danger
      send={async (reason, key) => {
        await launches.withdraw(launchId, s.area, reason, key);
        return `Sign-off for ${s.area} withdrawn: the launch cannot go live without it.`;
      }}
      done={done}
    />
  );
}
