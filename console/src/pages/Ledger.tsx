/**
 * A member's ledger, explained line by line, oldest first: what happened and why, the points it
 * changed (and which balances), the total after it, the rule version, the source event and who.
 * The lines add up to the total shown in Balances (the footer says so, or that some are not shown).
 */
import { Empty, statusLabel } from '../components';
import { formatDateTime, formatNumber, formatSigned } from '../format';
import { ledgerMax, type LedgerEntry } from '../resources';
import { Link } from '../router';

const deltaNames = ['available', 'pending', 'held', 'debt'] as const;

/** `available −100, held +100`: where the points moved (a hold moves, it does not spend). */
const movedText = (e: LedgerEntry): string =>
  deltaNames
    .filter((name) => e.deltas[name] !== 0)
    .map((name) => `${name} ${formatSigned(e.deltas[name])}`)
    .join(', ');

function Source({ e }: { e: LedgerEntry }) {
  if (!e.source) return <>{e.sourceEventId ? <code>{e.sourceEventId}</code> : '—'}</>;
  const { eventId, type, orderId } = e.source;
  return (
    <>
      {type ?? 'event'} <code>{eventId}</code>
      {orderId && (
        <>
          {' '}
          (order <code>{orderId}</code>)
        </>
      )}
    </>
  );
}

export function Ledger({ entries, more }: { entries: LedgerEntry[]; more: boolean }) {
  const sum = entries.reduce((total, e) => total + e.amount, 0);
  return (
    <section className="card" aria-labelledby="ledger-heading">
      <h2 id="ledger-heading">Ledger, line by line</h2>
      {!entries.length ? (
        <Empty>No ledger entries yet.</Empty>
      ) : (
        <div className="scroll">
          <table className="ledger">
            <caption className="visually-hidden">Ledger entries, oldest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What and why</th>
                <th scope="col" className="number">
                  Points
                </th>
                <th scope="col" className="number">
                  Total after
                </th>
                <th scope="col">Rule version</th>
                <th scope="col">Source event</th>
                <th scope="col">By</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id} data-entry={e.id} data-kind={e.kind}>
                  <td>
                    <time dateTime={e.at}>{formatDateTime(e.at)}</time>
                  </td>
                  <td>
                    <span className={`badge kind-${e.kind}`}>{statusLabel(e.kind)}</span>{' '}
                    <span className="reason">{e.reason}</span>
                    {e.holdId && (
                      <>
                        {' '}
                        for{' '}
                        <Link to={`/redemptions/${encodeURIComponent(e.holdId)}`}>
                          <code>{e.holdId}</code>
                        </Link>
                      </>
                    )}
                  </td>
                  <td className="number">
                    <span className="amount">{formatSigned(e.amount)}</span>
                    {movedText(e) && <span className="moved">{movedText(e)}</span>}
                  </td>
                  <td className="number">{formatNumber(e.balanceAfter.total)}</td>
                  <td>{e.ruleVersion === null ? '—' : `v${e.ruleVersion}`}</td>
                  <td>
                    <Source e={e} />
                  </td>
                  <td>{e.actor}</td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row" colSpan={2}>
                  {more
                    ? `Sum of the first ${formatNumber(entries.length)} lines (the ledger has more; the page shows at most ${formatNumber(ledgerMax)})`
                    : 'Sum of the lines: the total in Balances'}
                </th>
                <td className="number">
                  <strong>{formatSigned(sum)}</strong>
                </td>
                <td colSpan={4} />
              </tr>
            </tfoot>
          </table>
        </div>
      )}
    </section>
  );
}
