/**
 * The readiness checklist: each automated check's last result (✓ or ✗), its detail and when it
 * ran; overall, whether all pass and until when they are repeated (the review's deadline).
 */
import { Empty } from '../components';
import { formatDateTime } from '../format';
import type { Launch } from './LaunchApi';

export function Checklist({ l }: { l: Launch }) {
  const { results, passed, deadlineAt, deadlinePassed, at } = l.checks;
  return (
    <section className="card checklist" aria-labelledby="checks-heading">
      <h2 id="checks-heading">Readiness checks</h2>
      <p className={passed ? 'help' : 'help failing'} data-checks={passed ? 'passed' : 'failing'}>
        {!at
          ? 'Not run yet.'
          : passed
            ? `All ${results.length} pass (last run ${formatDateTime(at)}).`
            : `${results.filter((r) => !r.ok).length} of ${results.length} failing (last run ${formatDateTime(at)}).`}
        {deadlineAt &&
          !passed &&
          (deadlinePassed
            ? ' The review deadline has passed.'
            : ` Repeated until ${formatDateTime(deadlineAt)}.`)}
      </p>
      {!results.length ? (
        <Empty>No check has run yet.</Empty>
      ) : (
        <ul className="checks">
          {results.map((r) => (
            <li key={r.name} data-check={r.name} className={r.ok ? 'ok' : 'failed'}>
              <span aria-hidden="true" className="mark">
                {r.ok ? '✓' : '✗'}
              </span>{' '}
              <strong>{r.name}</strong>
              <span className="visually-hidden">{r.ok ? ' passes' : ' fails'}</span>
              {': '}
              {r.detail} <time dateTime={r.at}>{formatDateTime(r.at)}</time>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
