/**
 * The what-if of a rule change: its program replayed over the real past events of a window. Points
 * actually issued against what the change would have issued (per rule and in total), the liability
 * change in points and money, tier changes up and down, caps that bind, the most affected members
 * (each opens the member's page) and the cost. While it runs: how many events it has replayed.
 */
import type { ReactNode } from 'react';
import { Empty, ErrorState, usePolling } from '../components';
import { formatMoney, formatNumber, formatSigned, formatUtc } from '../format';
import { Link } from '../router';
import { ruleChanges, type RuleChange, type SimulationResult } from './RuleChangeApi';

export function Impact({ c }: { c: RuleChange }) {
  const sim = c.simulation;
  return (
    <section className="card impact" aria-labelledby="impact-heading">
      <h2 id="impact-heading">Impact (what-if over past events)</h2>
      {!sim ? (
        <Empty>No what-if yet: it runs when the change is proposed.</Empty>
      ) : sim.result ? (
        <Result result={sim.result as SimulationResult} />
      ) : sim.state === 'failed' ? (
        <p className="state error">The what-if failed; edit or propose the change again.</p>
      ) : (
        <Progress simulationId={sim.id} />
      )}
    </section>
  );
}

/** "Running… 1,200 of 5,000 events", from the simulation itself, polled each second. */
function Progress({ simulationId }: { simulationId: string }) {
  const found = usePolling(() => ruleChanges.simulation(simulationId), 1000, simulationId);
  const s = found.data;
  if (found.error) return <ErrorState error={found.error} retry={found.reload} />;
  const text = !s
    ? 'Running…'
    : s.state === 'completed'
      ? 'Completed: the figures appear in a moment.'
      : `Running… ${formatNumber(s.progress.processed)} of ${formatNumber(s.progress.total)} events`;
  return (
    <p className="state loading" role="status" data-simulation={simulationId}>
      {text}
      {s && (
        <span className="muted">
          {' '}
          (window {formatUtc(s.window.from)} to {formatUtc(s.window.to)})
        </span>
      )}
    </p>
  );
}

const money = (amounts: Record<string, number>): string => {
  const entries = Object.entries(amounts);
  return entries.length ? entries.map(([cur, n]) => formatMoney(n, cur)).join(', ') : '—';
};

function Figure({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function Result({ result: r }: { result: SimulationResult }) {
  return (
    <>
      <dl className="figures" aria-label="Impact in figures">
        <Figure label="Events replayed">{formatNumber(r.events)}</Figure>
        <Figure label="Members (active)">
          {formatNumber(r.members)} ({formatNumber(r.activeMembers)})
        </Figure>
        <Figure label="Points issued">
          {formatNumber(r.points.actual)} → {formatNumber(r.points.simulated)} (
          {formatSigned(r.points.delta)})
        </Figure>
        <Figure label="Per active member">
          {formatNumber(r.perActiveMember.actual)} → {formatNumber(r.perActiveMember.simulated)}
        </Figure>
        <Figure label="Liability change">
          {formatSigned(r.liability.points)} points ({money(r.liability.money)})
        </Figure>
        <Figure label="Cost estimate">{money(r.cost)}</Figure>
        <Figure label="Tier changes">
          {formatNumber(r.tiers.up)} up, {formatNumber(r.tiers.down)} down
        </Figure>
      </dl>
      <PointsByRule r={r} />
      <MemberTable
        caption="Most affected members"
        rows={r.mostAffected.map((m) => ({
          memberId: m.memberId,
          cells: [formatNumber(m.actual), formatNumber(m.simulated), formatSigned(m.delta)],
        }))}
        head={['Actual', 'Simulated', 'Change']}
      />
      <MemberTable
        caption="Tier changes"
        rows={r.tiers.changes.map((t) => ({ memberId: t.memberId, cells: [t.from, t.to] }))}
        head={['From', 'To']}
      />
      <Caps r={r} />
    </>
  );
}

function PointsByRule({ r }: { r: SimulationResult }) {
  return (
    <table className="by-rule">
      <caption>Points per rule</caption>
      <thead>
        <tr>
          <th scope="col">Rule</th>
          <th scope="col">Actual</th>
          <th scope="col">Simulated</th>
          <th scope="col">Change</th>
        </tr>
      </thead>
      <tbody>
        {r.points.byRule.map((rule) => (
          <tr key={rule.rule} data-rule={rule.rule}>
            <th scope="row">{rule.rule}</th>
            <td className="number">{formatNumber(rule.actual)}</td>
            <td className="number">{formatNumber(rule.simulated)}</td>
            <td className="number">{formatSigned(rule.delta)}</td>
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr data-rule="total">
          <th scope="row">Total</th>
          <td className="number">{formatNumber(r.points.actual)}</td>
          <td className="number">{formatNumber(r.points.simulated)}</td>
          <td className="number">{formatSigned(r.points.delta)}</td>
        </tr>
      </tfoot>
    </table>
  );
}

function MemberTable({
  caption,
  head,
  rows,
}: {
  caption: string;
  head: string[];
  rows: { memberId: string; cells: string[] }[];
}) {
  if (!rows.length) return <Empty>{caption}: none.</Empty>;
  return (
    <table className="members-affected">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Member</th>
          {head.map((h) => (
            <th key={h} scope="col">
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.memberId} data-member={row.memberId}>
            <td>
              <Link to={`/members/${encodeURIComponent(row.memberId)}`}>
                <code>{row.memberId}</code>
              </Link>
            </td>
            {row.cells.map((cell, i) => (
              <td key={i}>{cell}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Caps({ r }: { r: SimulationResult }) {
  if (!r.caps.length) return <Empty>No cap would bind.</Empty>;
  return (
    <table className="caps">
      <caption>Caps that would bind</caption>
      <thead>
        <tr>
          <th scope="col">Cap</th>
          <th scope="col">Events capped</th>
          <th scope="col">Points held back</th>
        </tr>
      </thead>
      <tbody>
        {r.caps.map((cap) => (
          <tr key={cap.cap} data-cap={cap.cap}>
            <th scope="row">{cap.cap}</th>
            <td className="number">{formatNumber(cap.events)}</td>
            <td className="number">{formatNumber(cap.points)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
