/**
 * A substitution's candidates, closest in value first: value, points and stock now. One table for
 * reading and for deciding; `choose` wraps each candidate's name (a radio to pick it) when deciding.
 */
import type { ReactNode } from 'react';
import { formatMoney, formatNumber } from '../format';
import type { Substitution } from '../resources';

type Candidate = Substitution['candidates'][number];

export function CandidatesTable({
  s,
  caption,
  choose,
}: {
  s: Substitution;
  caption?: string;
  choose?: (candidate: Candidate, name: ReactNode) => ReactNode;
}) {
  return (
    <table className="candidates">
      {caption && <caption>{caption}</caption>}
      <thead>
        <tr>
          <th scope="col">Candidate</th>
          <th scope="col">Value</th>
          <th scope="col">Points</th>
          <th scope="col">In stock now</th>
        </tr>
      </thead>
      <tbody>
        {s.candidates.map((c) => {
          const name = (
            <>
              {c.name} <code>{c.sku}</code>
            </>
          );
          return (
            <tr key={c.sku} data-sku={c.sku}>
              <td>{choose ? choose(c, name) : name}</td>
              <td>{formatMoney(c.cashValue, null)}</td>
              <td>{formatNumber(c.pointsCost)}</td>
              <td>{c.available > 0 ? formatNumber(c.available) : 'out of stock'}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
