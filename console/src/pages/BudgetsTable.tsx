/**
 * The programme's budgets on the health page (`GET /program/budgets`): usage this period against
 * the limit, the state (ok, warning at a `warnAt` percentage, exhausted) and when it runs out at
 * the last hour's rate, so ops see a campaign overspending before it stops. The liability ceiling
 * has no period (`standing`): its usage is the outstanding liability now.
 */
import { Empty, statusLabel } from '../components';
import { formatDateTime, formatNumber } from '../format';
import type { Budgets } from '../resources';

const amount = (n: number, unit: string) =>
  /^[A-Z]{3}$/.test(unit)
    ? `${formatNumber(n)} ${unit}`
    : `${formatNumber(n)} ${unit === 'points' ? 'points' : 'redemptions'}`;

export function BudgetsTable({ b }: { b: Budgets }) {
  return (
    <section className="card" aria-labelledby="budgets-heading">
      <h2 id="budgets-heading">Budgets</h2>
      {!b.budgets.length ? (
        <Empty>No budgets in programme version {b.ruleVersion}.</Empty>
      ) : (
        <table className="budgets">
          <caption className="visually-hidden">
            Each budget this period: usage, state and projected run-out
          </caption>
          <thead>
            <tr>
              <th scope="col">Budget</th>
              <th scope="col">Period</th>
              <th scope="col" className="number">
                Used
              </th>
              <th scope="col">Usage</th>
              <th scope="col">State</th>
              <th scope="col">Runs out</th>
            </tr>
          </thead>
          <tbody>
            {b.budgets.map((x) => (
              <tr key={x.budget} data-budget={x.budget} data-state={x.state}>
                <td>
                  <code>{x.budget}</code>
                </td>
                <td>{x.period.name === 'standing' ? 'standing (outstanding now)' : x.period.id}</td>
                <td className="number" data-used>
                  {formatNumber(x.used)} of {amount(x.limit, x.unit)}
                </td>
                <td>
                  <progress
                    max={100}
                    value={Math.min(100, x.percent)}
                    aria-label={`${x.budget} used`}
                  />{' '}
                  <span data-percent>{x.percent} %</span>
                </td>
                <td data-state-label>
                  {x.state === 'ok' ? 'OK' : statusLabel(x.state)}
                  {x.state !== 'ok' && ` (at 100 %: ${x.atLimit})`}
                </td>
                <td data-runs-out>
                  {x.projectedExhaustion
                    ? formatDateTime(x.projectedExhaustion)
                    : x.period.name === 'standing'
                      ? 'not at this rate'
                      : 'not this period'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
