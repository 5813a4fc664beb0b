/**
 * The audit trail of a rule change or a launch (GET …/audit): each transition with when, who, from
 * which state to which, why, and its details. Oldest first, as the API answers it.
 */
import { Empty, ErrorState, Loading, statusLabel } from '../components';
import { formatDateTime } from '../format';
import type { Polled } from '../components';

export interface AuditItem {
  at: string;
  action: string;
  from: string | null;
  to: string | null;
  actor: string;
  reason: string | null;
  details: Record<string, unknown>;
}

const shown = (details: Record<string, unknown>): [string, string][] =>
  Object.entries(details ?? {})
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([name, value]) => [name, typeof value === 'string' ? value : JSON.stringify(value)]);

export function AuditTrail({ audit }: { audit: Polled<AuditItem[]> }) {
  const rows = audit.data;
  return (
    <section className="card timeline audit" aria-labelledby="audit-heading">
      <h2 id="audit-heading">Audit trail</h2>
      {audit.error && <ErrorState error={audit.error} retry={audit.reload} />}
      {!rows ? (
        !audit.error && <Loading what="the audit trail" />
      ) : !rows.length ? (
        <Empty>Nothing recorded yet.</Empty>
      ) : (
        <ol>
          {rows.map((row, i) => (
            <li key={`${row.at}-${i}`} data-action={row.action}>
              <span className="step">{statusLabel(row.action)}</span>{' '}
              {row.to && row.from !== row.to && (
                <span className="muted">
                  ({row.from ? `${statusLabel(row.from)} → ` : ''}
                  {statusLabel(row.to)}){' '}
                </span>
              )}
              <time dateTime={row.at}>{formatDateTime(row.at)}</time>
              <span className="actor"> by {row.actor}</span>
              {row.reason && <p className="reason">Reason: {row.reason}</p>}
              {shown(row.details).length > 0 && (
                <p className="detail">
                  {shown(row.details).map(([name, value]) => (
                    <span key={name}>
                      {name}: <code>{value}</code>{' '}
                    </span>
                  ))}
                </p>
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
