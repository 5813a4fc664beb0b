/**
 * Pools of coupon codes, one per coupon reward: codes are imported once each, and given out one
 * per redemption. Concurrent assigners each take a different free code (`FOR UPDATE SKIP LOCKED`);
 * the unique `redemption_id` makes a second code for one redemption impossible whoever writes.
 */
import { conflict, invalid, notFound } from '../domain/refusal';
import { couponCode } from '../domain/rewards';
import type { Db, Trx } from '../infra/db';
import { isUniqueViolation } from '../ledger/activity';

export type AssignResult = { status: 'assigned'; code: string } | { status: 'out_of_stock' };

interface CouponRow {
  reward_id: string;
  code: string;
  redemption_id: string | null;
  assigned_at: Date | null;
  imported_at: Date;
}

/** Rows per INSERT when importing (well under Postgres's bind-parameter limit). */
const importBatch = 5_000;

async function assertCouponReward(db: Db | Trx, rewardId: string): Promise<void> {
  const reward = await db('rewards')
    .where({ id: rewardId })
    .first<{ kind: string } | undefined>('kind');
  if (!reward) throw notFound('reward', 'rewardId', rewardId);
  if (reward.kind !== 'coupon') {
    throw invalid(
      `Reward '${rewardId}' is a ${reward.kind}, not a coupon.`,
      'rewardId',
      'only coupon rewards have a pool of codes',
    );
  }
}

/**
 * Adds codes to the reward's pool. A code already in the pool (or twice in `codes`) counts as a
 * duplicate, so importing the same file again imports nothing. Codes are validated at the edge.
 */
export async function importCoupons(
  db: Db,
  rewardId: string,
  codes: string[],
  now: Date = new Date(),
): Promise<{ imported: number; duplicates: number }> {
  await assertCouponReward(db, rewardId);
  const unique = [...new Set(codes)];
  let imported = 0;
  await db.transaction(async (trx) => {
    for (let i = 0; i < unique.length; i += importBatch) {
      const { rows } = await trx.raw<{ rows: unknown[] }>(
        `INSERT INTO coupon_codes (reward_id, code, imported_at)
         SELECT ?, code, ? FROM unnest(?::text[]) AS code
         ON CONFLICT (reward_id, code) DO NOTHING RETURNING code`,
        [rewardId, now, unique.slice(i, i + importBatch)],
      );
      imported += rows.length;
    }
  });
  return { imported, duplicates: codes.length - imported };
}

async function assignedTo(db: Db | Trx, redemptionId: string): Promise<CouponRow | undefined> {
  return db<CouponRow>('coupon_codes').where({ redemption_id: redemptionId }).first();
}

function sameReward(row: CouponRow, rewardId: string, redemptionId: string): AssignResult {
  if (row.reward_id !== rewardId) {
    const message = `redemption ${redemptionId} already has a code of reward ${row.reward_id}`;
    throw conflict(message, 'redemptionId');
  }
  return { status: 'assigned', code: row.code };
}

/**
 * Gives the redemption a free code of the reward (the oldest imported first), or answers
 * `out_of_stock` when the pool is empty. A repeat returns the code already given.
 */
export async function assignCoupon(
  db: Db,
  input: { redemptionId: string; rewardId: string },
  now: Date = new Date(),
): Promise<AssignResult> {
  await assertCouponReward(db, input.rewardId);
  const existing = await assignedTo(db, input.redemptionId);
  if (existing) return sameReward(existing, input.rewardId, input.redemptionId);
  try {
    const { rows } = await db.raw<{ rows: { code: string }[] }>(
      `UPDATE coupon_codes SET redemption_id = ?, assigned_at = ?
       WHERE (reward_id, code) = (
         SELECT reward_id, code FROM coupon_codes WHERE reward_id = ? AND redemption_id IS NULL
         ORDER BY imported_at, code LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING code`,
      [input.redemptionId, now, input.rewardId],
    );
    return rows[0] ? { status: 'assigned', code: rows[0].code } : { status: 'out_of_stock' };
  } catch (err) {
    // The same redemption, assigned concurrently, got its code first: answer with that one.
    if (isUniqueViolation(err, 'coupon_codes_redemption_id_unique')) {
      const row = (await assignedTo(db, input.redemptionId))!;
      return sameReward(row, input.rewardId, input.redemptionId);
    }
    throw err;
  }
}

/** Puts the redemption's code back in the pool; nothing to do when it has none. */
export async function releaseCoupon(db: Db, input: { redemptionId: string }): Promise<void> {
  await db('coupon_codes')
    .where({ redemption_id: input.redemptionId })
    .update({ redemption_id: null, assigned_at: null });
}

export async function couponStock(
  db: Db | Trx,
  rewardId: string,
): Promise<{ total: number; available: number }> {
  const { rows } = await db.raw<{ rows: { total: number; available: number }[] }>(
    `SELECT count(*)::int AS total, (count(*) FILTER (WHERE redemption_id IS NULL))::int AS available
     FROM coupon_codes WHERE reward_id = ?`,
    [rewardId],
  );
  return rows[0]!;
}

export interface Rejected {
  line: number;
  message: string;
}

/**
 * Reads a codes file: a header row `code`, then one code per line (optionally quoted). Blank lines
 * are skipped; a line that is not one valid code is rejected with its line number, and the rest
 * is still read. A file without the header is a 422.
 */
export function parseCouponCsv(text: string): { codes: string[]; rejected: Rejected[] } {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  const header = lines.findIndex((line) => line.trim() !== '');
  if (header === -1 || unquote(lines[header]!.trim())?.toLowerCase() !== 'code') {
    const where = header === -1 ? 'the file is empty' : `line ${header + 1} is not the header`;
    throw invalid(
      `${where}: expected a header row \`code\`.`,
      '(body)',
      'expected a header row `code`',
    );
  }
  const codes: string[] = [];
  const rejected: Rejected[] = [];
  lines.forEach((raw, i) => {
    const field = raw.trim();
    if (i <= header || field === '') return;
    const code = unquote(field);
    if (code === undefined) rejected.push({ line: i + 1, message: 'malformed quoting' });
    else if (!field.startsWith('"') && field.includes(','))
      rejected.push({ line: i + 1, message: 'expected one field (code)' });
    else {
      const checked = couponCode.safeParse(code);
      if (checked.success) codes.push(checked.data);
      else rejected.push({ line: i + 1, message: checked.error.issues[0]!.message });
    }
  });
  return { codes, rejected };
}

/** A CSV field's value: `"a""b"` is `a"b`; undefined when the quotes are malformed. */
function unquote(field: string): string | undefined {
  if (!field.includes('"')) return field;
  const quoted = /^"((?:[^"]|"")*)"$/.exec(field);
  return quoted ? quoted[1]!.replace(/""/g, '"') : undefined;
}
