/**
 * An independent recomputation of a what-if's figures, for test/simulation.test.ts: plain loops
 * over the stored rows, written apart from the simulation's code path (only the earning
 * arithmetic, `computeEarning`, is shared: it IS the live code). The semantics are the README's
 * "What-if" section.
 */
import { computeEarning, type PurchaseLine } from '../../domain/earning';
import { ms, programSchema, type Program } from '../../domain/program';
import type { Db } from '../../infra/db';

interface Row {
  id: string;
  member_id: string;
  type: string;
  payload: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  response: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  rule_version: number;
  occurred_at: Date;
  created_at: Date;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

export async function recompute(
  db: Db,
  program: Program,
  window: { from: string; to: string },
  pointCost: Record<string, number>,
) {
  const events = (
    await db.raw<{ rows: Row[] }>(
      `SELECT * FROM ledger_events WHERE occurred_at >= ? AND occurred_at < ?
       ORDER BY member_id, occurred_at, id`,
      [window.from, window.to],
    )
  ).rows;
  const ids = events.map((e) => e.id);
  const memberIds = [...new Set(events.map((e) => e.member_id))];
  const entrySums = new Map<string, number>();
  for (const r of (
    await db.raw<{ rows: { source_event_id: string; amount: number }[] }>(
      `SELECT source_event_id, sum(amount)::bigint AS amount FROM ledger_entries
       WHERE source_event_id = ANY(?) GROUP BY source_event_id`,
      [ids],
    )
  ).rows)
    entrySums.set(r.source_event_id, Number(r.amount));
  const tierEvents = (
    await db.raw<{ rows: { member_id: string; occurred_at: Date; payload: any }[] }>( // eslint-disable-line @typescript-eslint/no-explicit-any
      `SELECT member_id, occurred_at, payload FROM program_events
       WHERE type = 'member.tier_changed' AND member_id = ANY(?::uuid[]) ORDER BY occurred_at, id`,
      [memberIds],
    )
  ).rows;
  const entries = (
    await db.raw<{ rows: { member_id: string; created_at: Date; qualifying: number }[] }>(
      `SELECT member_id, created_at, qualifying FROM ledger_entries
       WHERE member_id = ANY(?::uuid[]) AND qualifying <> 0`,
      [memberIds],
    )
  ).rows;
  const current = new Map(
    (
      await db.raw<{ rows: { id: string; tier: string }[] }>(
        'SELECT id, tier FROM members WHERE id = ANY(?::uuid[])',
        [memberIds],
      )
    ).rows.map((m) => [m.id, m.tier]),
  );
  const versions = new Map<number, Program>();
  for (const r of await db<{ version: number; program: unknown }>('rule_sets').select(
    'version',
    'program',
  ))
    versions.set(r.version, programSchema.parse(r.program));
  const members = Number(
    (
      await db.raw<{ rows: { n: number }[] }>(
        `SELECT count(*)::bigint AS n FROM members WHERE enrolled_at < ? OR id = ANY(?::uuid[])`,
        [window.to, memberIds],
      )
    ).rows[0]!.n,
  );

  const tierRank = (name: string) => program.tiers.findIndex((t) => t.name === name);
  const reachedTier = (q: number) => {
    let name = program.tiers[0]!.name;
    for (const t of program.tiers) if (q >= t.qualifyingPoints) name = t.name;
    return name;
  };
  const rules: Record<string, { actual: number; simulated: number }> = {};
  const rule = (name: string, side: 'actual' | 'simulated', points: number) => {
    if (points === 0) return;
    rules[name] ??= { actual: 0, simulated: 0 };
    rules[name][side] += points;
  };
  const caps: Record<string, { events: number; points: number }> = {};
  let actualTotal = 0;
  let simTotal = 0;
  let actualIssued = 0;
  let simIssued = 0;
  const changes: { memberId: string; from: string; to: string }[] = [];
  let up = 0;
  let down = 0;
  const affected: { memberId: string; actual: number; simulated: number; delta: number }[] = [];

  for (const memberId of memberIds) {
    const mine = events.filter((e) => e.member_id === memberId);
    const first = mine[0]!.created_at.getTime();
    // Tier just before the first event was recorded.
    const changesOf = tierEvents.filter((c) => c.member_id === memberId);
    const before = changesOf.filter((c) => c.occurred_at.getTime() < first).pop();
    const after = changesOf.find((c) => c.occurred_at.getTime() >= first);
    const startTier: string = before?.payload.to ?? after?.payload.from ?? current.get(memberId)!;
    const windowMs = ms(program.tierPolicy.qualificationWindow);
    let qualifying = 0;
    for (const e of entries)
      if (
        e.member_id === memberId &&
        e.created_at.getTime() < first &&
        e.created_at.getTime() > first - windowMs
      )
        qualifying += Number(e.qualifying);
    qualifying = Math.max(0, qualifying);
    let tier = tierRank(startTier) >= 0 ? startTier : reachedTier(qualifying);

    let day = '';
    let month = '';
    let used: Record<string, number> = {};
    let usedMonth: Record<string, number> = {};
    const orders: Record<
      string,
      { sku: string; qty: number; pts: number; ret: number; rev: number }[]
    > = {};
    let memberActual = 0;
    let memberSim = 0;
    let actualTier = startTier;
    for (const e of mine) {
      const type = e.type === 'custom' ? e.payload.name : e.type;
      const real = entrySums.get(e.id) ?? 0;
      memberActual += real;
      actualTotal += real;
      actualTier = e.response.tier;
      const pts = e.response.points;
      if (e.type === 'return') {
        rule('returns', 'actual', -pts.reversed);
      } else {
        actualIssued += real;
        rule(type, 'actual', pts.base);
        for (const name of pts.bonuses as string[])
          rule(
            `bonus:${name}`,
            'actual',
            versions.get(e.rule_version)!.earning.bonuses.find((b) => b.name === name)!.points,
          );
        rule('caps', 'actual', -pts.capped);
      }

      // The proposed program's replay.
      if (e.type === 'return') {
        const bought = orders[e.payload.orderId];
        let reversed = 0;
        if (!bought) reversed = -real;
        else
          for (const r of e.payload.lines as { sku: string; quantity: number }[]) {
            const line = bought.find((b) => b.sku === r.sku)!;
            line.ret += r.quantity;
            const due = Math.floor((line.pts * line.ret) / line.qty);
            reversed += due - line.rev;
            line.rev = due;
          }
        memberSim -= reversed;
        simTotal -= reversed;
        rule('returns', 'simulated', -reversed);
        qualifying = Math.max(0, qualifying - reversed);
        continue;
      }
      const known =
        e.type === 'purchase'
          ? program.earning.pointsPerUnit[e.payload.currency] !== undefined
          : program.earning.eventPoints[type] !== undefined;
      if (!known) {
        if (e.type === 'purchase')
          orders[e.payload.orderId] = (e.payload.lines as PurchaseLine[]).map((l) => ({
            sku: l.sku,
            qty: l.quantity,
            pts: 0,
            ret: 0,
            rev: 0,
          }));
        continue;
      }
      const iso = e.occurred_at.toISOString();
      if (iso.slice(0, 10) !== day) [day, used] = [iso.slice(0, 10), {}];
      if (iso.slice(0, 7) !== month) [month, usedMonth] = [iso.slice(0, 7), {}];
      const usage = {
        dayAll: used['*'] ?? 0,
        monthAll: usedMonth['*'] ?? 0,
        dayType: used[type] ?? 0,
        monthType: usedMonth[type] ?? 0,
      };
      const tierDef = program.tiers.find((t) => t.name === tier) ?? program.tiers[0]!;
      const lines = (e.payload.lines ?? []) as PurchaseLine[];
      const earning = computeEarning(program, tierDef, { ...e.payload, type, lines }, usage);
      rule(type, 'simulated', earning.base);
      for (const name of earning.bonuses)
        rule(
          `bonus:${name}`,
          'simulated',
          program.earning.bonuses.find((b) => b.name === name)!.points,
        );
      if (earning.capped > 0) {
        rule('caps', 'simulated', -earning.capped);
        const { all, byEventType } = program.earning.caps;
        const limits: [string, number][] = [
          ['all.perDay', (all.perDay ?? Infinity) - usage.dayAll],
          ['all.perMonth', (all.perMonth ?? Infinity) - usage.monthAll],
          [`${type}.perDay`, (byEventType[type]?.perDay ?? Infinity) - usage.dayType],
          [`${type}.perMonth`, (byEventType[type]?.perMonth ?? Infinity) - usage.monthType],
        ];
        let binding = limits[0]!;
        for (const l of limits) if (l[1] < binding[1]) binding = l;
        const bound = (caps[binding[0]] ??= { events: 0, points: 0 });
        bound.events += 1;
        bound.points += earning.capped;
      }
      used['*'] = (used['*'] ?? 0) + earning.earned;
      used[type] = (used[type] ?? 0) + earning.earned;
      usedMonth['*'] = (usedMonth['*'] ?? 0) + earning.earned;
      usedMonth[type] = (usedMonth[type] ?? 0) + earning.earned;
      if (e.type === 'purchase')
        orders[e.payload.orderId] = lines.map((l, i) => ({
          sku: l.sku,
          qty: l.quantity,
          pts: earning.linePoints[i]!,
          ret: 0,
          rev: 0,
        }));
      memberSim += earning.earned;
      simTotal += earning.earned;
      simIssued += earning.earned;
      qualifying += earning.earned;
      const reached = reachedTier(qualifying);
      if (tierRank(reached) > tierRank(tier)) tier = reached;
    }
    if (tier !== actualTier) {
      if (tierRank(tier) > tierRank(actualTier)) up += 1;
      else down += 1;
      changes.push({ memberId, from: actualTier, to: tier });
    }
    if (memberSim !== memberActual)
      affected.push({
        memberId,
        actual: memberActual,
        simulated: memberSim,
        delta: memberSim - memberActual,
      });
  }

  const value = (points: number) =>
    Object.fromEntries(Object.entries(pointCost).map(([c, v]) => [c, round2(points * v)]));
  return {
    events: events.length,
    members,
    activeMembers: memberIds.length,
    points: {
      actual: actualTotal,
      simulated: simTotal,
      delta: simTotal - actualTotal,
      byRule: Object.keys(rules)
        .sort()
        .map((name) => ({
          rule: name,
          actual: rules[name]!.actual,
          simulated: rules[name]!.simulated,
          delta: rules[name]!.simulated - rules[name]!.actual,
        })),
    },
    liability: { points: simTotal - actualTotal, money: value(simTotal - actualTotal) },
    tiers: {
      up,
      down,
      changes: changes.sort((a, b) => (a.memberId < b.memberId ? -1 : 1)).slice(0, 50),
    },
    caps: Object.entries(caps)
      .map(([cap, c]) => ({ cap, ...c }))
      .sort((a, b) => b.points - a.points || (a.cap < b.cap ? -1 : 1)),
    mostAffected: affected
      .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta) || (a.memberId < b.memberId ? -1 : 1))
      .slice(0, 20),
    cost: value(simIssued - actualIssued),
    perActiveMember: {
      actual: round2(actualTotal / memberIds.length),
      simulated: round2(simTotal / memberIds.length),
    },
  };
}
