/**
 * The member's frozen points (accruals the earning detectors flagged), each with why it was
 * flagged; ops release (spendable, expiring a lifetime from now) or void (taken off the ledger)
 * each one, the reason asked for in a dialog. One Idempotency-Key per opening of the dialog.
 */
import type { ReactNode } from 'react';
import { Empty } from '../components';
import { formatDateTime, formatNumber } from '../format';
import { resources, type FrozenItem } from '../resources';
import { ReasonDialog } from './ReasonDialog';

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
  done: (text: ReactNode) => void;
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

const labels: Record<Decision, { open: string; title: string; submit: string; done: string }> = {
  release: {
    open: 'Release…',
    title: 'Release these frozen points',
    submit: 'Release',
    done: 'Released: the points are spendable and expire a lot lifetime from now.',
  },
  void: {
    open: 'Void…',
    title: 'Void these frozen points',
    submit: 'Void',
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
  done: (text: ReactNode) => void;
}) {
  const text = labels[decision];
  return (
    <ReasonDialog
      open={text.open}
      title={text.title}
      submit={text.submit}
      danger={decision === 'void'}
      send={async (reason, key) => {
        await resources.decideFrozen(memberId, entryId, decision, reason, key);
        return text.done;
      }}
      done={done}
    />
  );
}
