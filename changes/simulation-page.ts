/**
 * One page of a what-if: the next `limit` stored events of the window, member after member (each
 * member's in (occurred_at, id) order), replayed under the proposed program by the pure code of
 * `domain/simulation.ts`. Reads only: a page is a function of its cursor and the member it carries
 * over, so a retried page answers the same and nothing is counted twice. The one member a page may
 * cut in two travels to the next page in `carry` (its running state), so no scratch table is
 * needed and a crash loses nothing the workflow has not recorded.
 */
import type { Db } from '../infra/db';
import { ms, type Program } from '../domain/program';
import { emptyPart, mergeParts, type Shard, type SimulationPart } from '../domain/simulation';
import {
  memberPart,
  runEvent,
  startLane,
  type MemberRun,
  type SimEvent,
} from '../domain/simulation-replay';
import { loadRuleSet } from '../ledger/programs';

/** Where the next page starts: after this event (in member, occurred_at, id order). */
export interface PageCursor {
  memberId: string;
  /** `occurred_at` as Postgres wrote it (microseconds kept). */
  at: string;
  eventId: string;
}

export interface PageInput {
  window: { from: string; to: string };
  shard: Shard;
  cursor: PageCursor | null;
  carry: MemberRun | null;
  limit: number;
}

export interface PageOutput {
  part: SimulationPart;
  cursor: PageCursor | null;
  carry: MemberRun | null;
  /** Events read by this page. */
  events: number;
  done: boolean;
}

interface EventRow {
  id: string;
  member_id: string;
  type: string;
  payload: Record<string, unknown>;
  points: Record<string, unknown> | null;
  tier_after: string;
  rule_version: number;
  occurred_at: Date;
  at_key: string;
  created_at: Date;
  actual: number | null;
}

interface StartRow {
  id: string;
  tier: string;
  before: string | null;
  after: string | null;
  q_sim: number;
  q_base: number;
}

export async function simulatePage(
  db: Db,
  programs: { sim: Program; base: Program | null },
  input: PageInput,
): Promise<PageOutput> {
  const rows = await readEvents(db, input);
  const done = rows.length < input.limit;
  const byMember: EventRow[][] = [];
  for (const row of rows) {
    const last = byMember[byMember.length - 1];
    if (last && last[0]!.member_id === row.member_id) last.push(row);
    else byMember.push([row]);
  }
  const fresh = byMember.filter((events) => events[0]!.member_id !== input.carry?.memberId);
  const starts = await readStarts(db, programs, fresh);

  let part = emptyPart();
  let carry = input.carry;
  const finish = (run: MemberRun) => (part = mergeParts(part, memberPart(run, programs.sim)));
  for (const events of byMember) {
    const memberId = events[0]!.member_id;
    let run: MemberRun;
    if (carry && carry.memberId === memberId) run = carry;
    else {
      if (carry) finish(carry);
      run = newRun(memberId, starts.get(memberId)!, programs);
    }
    carry = null;
    for (const row of events) runEvent(run, await simEvent(db, row), programs);
    carry = run;
  }
  if (carry && done) {
    finish(carry);
    carry = null;
  }
  const last = rows[rows.length - 1];
  return {
    part,
    cursor: last ? { memberId: last.member_id, at: last.at_key, eventId: last.id } : input.cursor,
    carry,
    events: rows.length,
    done,
  };
}

async function readEvents(db: Db, input: PageInput): Promise<EventRow[]> {
  const after = input.cursor
    ? `AND (e.member_id, e.occurred_at, e.id) > (:member::uuid, :at::timestamptz, :eventId)`
    : '';
  const { rows } = await db.raw<{ rows: EventRow[] }>(
    `SELECT e.id, e.member_id, e.type, e.payload, e.response->'points' AS points,
       e.response->>'tier' AS tier_after, e.rule_version, e.occurred_at,
       e.occurred_at::text AS at_key, e.created_at, x.amount AS actual
     FROM ledger_events e
     LEFT JOIN ledger_entries x ON x.dedupe_key = 'event:' || e.id
     WHERE e.occurred_at >= :from AND e.occurred_at < :to AND e.member_id >= :shardFrom::uuid
       ${input.shard.to ? 'AND e.member_id < :shardTo::uuid' : ''} ${after}
     ORDER BY e.member_id, e.occurred_at, e.id
     LIMIT :limit`,
    {
      from: input.window.from,
      to: input.window.to,
      limit: input.limit,
      shardFrom: input.shard.from,
      ...(input.shard.to ? { shardTo: input.shard.to } : {}),
      ...(input.cursor
        ? { member: input.cursor.memberId, at: input.cursor.at, eventId: input.cursor.eventId }
        : {}),
    },
  );
  return rows;
}

/**
 * Where each member starts, as it was just before its first event of the window was recorded: its
 * tier (the last tier change before then, else the first one after it, else its tier now) and the
 * qualifying points of each program's qualification window before then.
 */
async function readStarts(
  db: Db,
  programs: { sim: Program; base: Program | null },
  members: EventRow[][],
): Promise<Map<string, StartRow>> {
  if (members.length === 0) return new Map();
  const window = (program: Program) => ms(program.tierPolicy.qualificationWindow) / 1000;
  const qualifying = (param: string) =>
    `(SELECT coalesce(sum(l.qualifying), 0)::bigint FROM ledger_entries l
      WHERE l.member_id = f.id AND l.qualifying <> 0 AND l.created_at < f.first
        AND l.created_at > f.first - make_interval(secs => :${param}))`;
  const tierChange = (side: 'before' | 'after') =>
    `(SELECT p.payload->>'${side === 'before' ? 'to' : 'from'}' FROM program_events p
      WHERE p.member_id = f.id AND p.type = 'member.tier_changed'
        AND p.occurred_at ${side === 'before' ? '<' : '>='} f.first
      ORDER BY p.occurred_at ${side === 'before' ? 'DESC' : 'ASC'}, p.id ${side === 'before' ? 'DESC' : 'ASC'}
      LIMIT 1)`;
  const { rows } = await db.raw<{ rows: StartRow[] }>(
    `SELECT f.id, m.tier, ${tierChange('before')} AS before, ${tierChange('after')} AS after,
       ${qualifying('simWindow')} AS q_sim,
       ${programs.base ? qualifying('baseWindow') : '0'} AS q_base
     FROM unnest(:ids::uuid[], :firsts::timestamptz[]) AS f(id, first)
     JOIN members m ON m.id = f.id`,
    {
      ids: members.map((events) => events[0]!.member_id),
      firsts: members.map((events) => events[0]!.created_at),
      simWindow: window(programs.sim),
      ...(programs.base ? { baseWindow: window(programs.base) } : {}),
    },
  );
  return new Map(rows.map((row) => [row.id, row]));
}

function newRun(
  memberId: string,
  start: StartRow,
  programs: { sim: Program; base: Program | null },
): MemberRun {
  const tier = start.before ?? start.after ?? start.tier;
  return {
    memberId,
    events: 0,
    actual: { total: 0, issued: 0, rules: {}, tier },
    sim: startLane(programs.sim, tier, Number(start.q_sim)),
    base: programs.base ? startLane(programs.base, tier, Number(start.q_base)) : null,
  };
}

const typeOf = (row: EventRow): string =>
  row.type === 'custom' ? ((row.payload.name as string | undefined) ?? 'custom') : row.type;

/** A stored event as the simulation reads it, with what it really earned, per rule. */
async function simEvent(db: Db, row: EventRow): Promise<SimEvent> {
  const p = row.payload;
  const type = typeOf(row);
  const points = row.points ?? {};
  const actualRules: Record<string, number> = {};
  if (row.type === 'return') {
    actualRules.returns = -Number(points.reversed ?? 0);
  } else {
    actualRules[type] = Number(points.base ?? 0);
    const names = (points.bonuses ?? []) as string[];
    if (names.length > 0) {
      const { program } = await loadRuleSet(db, row.rule_version);
      for (const name of names) {
        const bonus = program.earning.bonuses.find((b) => b.name === name);
        const key = `bonus:${name}`;
        actualRules[key] = (actualRules[key] ?? 0) + (bonus?.points ?? 0);
      }
    }
    if (Number(points.capped ?? 0) > 0) actualRules.caps = -Number(points.capped);
  }
  return {
    id: row.id,
    type,
    at: row.occurred_at.getTime(),
    orderId: (p.orderId as string | undefined) ?? null,
    currency: p.currency as string | undefined,
    amount: p.amount as number | undefined,
    channel: p.channel as string | undefined,
    country: p.country as string | undefined,
    lines: p.lines as SimEvent['lines'],
    actual: Number(row.actual ?? 0),
    actualRules,
    tierAfter: row.tier_after,
  };
}
