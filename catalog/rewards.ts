/**
 * Rewards in Postgres: create (idempotent by id), change, read, and find substitutes for a reward
 * that is out of stock. Shared by the API and the redemption activities; inputs are validated at
 * the edge with the schemas in `domain/rewards.ts`, and the table's constraints back them up.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Db, Trx } from '../infra/db';
import { loadRuleSet } from '../ledger/programs';
import { releaseState } from '../ledger/releases';
import { notFound, Refusal, RefusalKind, type FieldError } from '../domain/refusal';
import type { NewReward, RewardKind, RewardPatch, SubstitutionPolicy } from '../domain/rewards';
import { createInventory, type InventoryRow } from './store';

export interface RewardRow {
  id: string;
  kind: RewardKind;
  name: string;
  category: string;
  points_cost: number;
  cash_value: number;
  currency: string;
  tiers_allowed: string[];
  substitution: SubstitutionPolicy;
  provider: string | null;
  denomination: number | null;
  campaign: string | null;
  active: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface RewardFilter {
  kind?: RewardKind | undefined;
  category?: string | undefined;
  active?: boolean | undefined;
  /** Rewards with an id after this one (paging). */
  after?: string | undefined;
  limit?: number | undefined;
}

/** What a reward has left: the inventory of a physical one, the code pool of a coupon. */
export interface RewardStock {
  inventory: InventoryRow | null;
  coupons: { total: number; available: number; used: number } | null;
}

/** The columns a create or patch input sets (all but the id and the timestamps). */
type Columns = Partial<Omit<RewardRow, 'id' | 'created_at' | 'updated_at'>>;

function columnsOf(input: Partial<Omit<NewReward, 'campaign'> & RewardPatch>): Columns {
  const columns: Columns = {
    kind: input.kind,
    name: input.name,
    category: input.category,
    points_cost: input.pointsCost,
    cash_value: input.cashValue,
    currency: input.currency,
    tiers_allowed: input.tiersAllowed,
    substitution: input.substitution,
    provider: input.provider,
    denomination: input.denomination,
    campaign: input.campaign,
    active: input.active,
  };
  for (const key of Object.keys(columns) as (keyof Columns)[])
    if (columns[key] === undefined) delete columns[key];
  return columns;
}

/** JSON columns are bound as JSON text; arrays stay arrays (text[]). */
const bindable = (columns: Columns) =>
  columns.substitution
    ? { ...columns, substitution: JSON.stringify(columns.substitution) as never }
    : columns;

const camel: Record<string, string> = {
  points_cost: 'pointsCost',
  cash_value: 'cashValue',
  tiers_allowed: 'tiersAllowed',
};

/** The fields whose stored value differs from what `columns` would set. */
function differences(row: RewardRow, columns: Columns): FieldError[] {
  return (Object.keys(columns) as (keyof Columns)[])
    .filter((key) => {
      const [stored, given] =
        key === 'tiers_allowed'
          ? [[...row.tiers_allowed].sort(), [...columns.tiers_allowed!].sort()]
          : [row[key], columns[key]];
      return !isDeepStrictEqual(stored, given);
    })
    .map((key) => ({ field: camel[key] ?? key, message: `differs from the stored reward's` }));
}

/**
 * Tiers must be ones a version in force defines (a typo would hide the reward from everyone): the
 * general version's, or, during a soft launch, the cohort's (a new tier is rewarded as it opens).
 */
async function assertTiersKnown(db: Db | Trx, tiers: string[] | undefined): Promise<void> {
  if (!tiers?.length) return;
  const { generalVersion, cohort } = await releaseState(db);
  const versions = [generalVersion, ...(cohort ? [cohort.version] : [])];
  const known = [
    ...new Set(
      (await Promise.all(versions.map((v) => loadRuleSet(db, v)))).flatMap(({ program }) =>
        program.tiers.map((tier) => tier.name),
      ),
    ),
  ];
  const errors = tiers.flatMap((tier, i) =>
    known.includes(tier)
      ? []
      : [
          {
            field: `tiersAllowed[${i}]`,
            message: `not a tier of the program (${known.join(', ')})`,
          },
        ],
  );
  if (errors.length)
    throw new Refusal(RefusalKind.Invalid, 'tiersAllowed names an unknown tier.', errors);
}

/**
 * Creates a reward, and the inventory of a physical one, once per id: the same reward again is
 * `created: false` and changes nothing; the same id with other fields is a 409 naming them.
 * The initial inventory only applies when the reward is created.
 */
export async function createReward(
  db: Db,
  input: NewReward,
  now: Date = new Date(),
): Promise<{ created: boolean; reward: RewardRow }> {
  const columns: Columns = {
    ...columnsOf(input),
    provider: input.provider ?? null,
    denomination: input.denomination ?? null,
    campaign: input.campaign ?? null,
  };
  await assertTiersKnown(db, input.tiersAllowed);
  return db.transaction(async (trx) => {
    const [inserted] = await trx<RewardRow>('rewards')
      .insert({ id: input.id, ...bindable(columns), created_at: now, updated_at: now })
      .onConflict('id')
      .ignore()
      .returning('*');
    if (!inserted) {
      const existing = (await getReward(trx, input.id))!;
      const errors = differences(existing, columns);
      if (errors.length) {
        throw new Refusal(
          RefusalKind.Conflict,
          `Reward '${input.id}' already exists with other details.`,
          errors,
        );
      }
      return { created: false, reward: existing };
    }
    if (input.kind === 'physical') {
      await createInventory(
        trx,
        {
          sku: input.id,
          onHand: input.inventory?.onHand ?? 0,
          threshold: input.inventory?.threshold ?? 0,
        },
        now,
      );
    }
    return { created: true, reward: inserted };
  });
}

/** Changes what a patch names; a patch that changes nothing leaves the row (and updated_at) be. */
export async function updateReward(
  db: Db,
  id: string,
  patch: RewardPatch,
  now: Date = new Date(),
): Promise<RewardRow> {
  await assertTiersKnown(db, patch.tiersAllowed);
  return db.transaction(async (trx) => {
    const row = await trx<RewardRow>('rewards').where({ id }).forUpdate().first();
    if (!row) throw notFound('reward', 'id', id);
    const columns = columnsOf(patch);
    if (differences(row, columns).length === 0) return row;
    const [updated] = await trx<RewardRow>('rewards')
      .where({ id })
      .update({ ...bindable(columns), updated_at: now })
      .returning('*');
    return updated!;
  });
}

export async function getReward(db: Db | Trx, id: string): Promise<RewardRow | undefined> {
  return db<RewardRow>('rewards').where({ id }).first();
}

export async function listRewards(db: Db, filter: RewardFilter = {}): Promise<RewardRow[]> {
  const where: Partial<RewardRow> = {};
  if (filter.kind) where.kind = filter.kind;
  if (filter.category) where.category = filter.category;
  if (filter.active !== undefined) where.active = filter.active;
  return db<RewardRow>('rewards')
    .where(where)
    .andWhere('id', '>', filter.after ?? '')
    .orderBy('id')
    .limit(filter.limit ?? 100);
}

/** The stock of each reward, in two queries for the whole list. */
export async function rewardStock(db: Db, rewards: RewardRow[]): Promise<Map<string, RewardStock>> {
  const ids = rewards.map((r) => r.id);
  const [inventory, pools] = await Promise.all([
    db<InventoryRow>('inventory').whereIn('sku', ids),
    db('coupon_codes')
      .whereIn('reward_id', ids)
      .groupBy('reward_id')
      .select<{ reward_id: string; total: number; available: number }[]>(
        'reward_id',
        db.raw('count(*)::int AS total'),
        db.raw('(count(*) FILTER (WHERE redemption_id IS NULL))::int AS available'),
      ),
  ]);
  return new Map(
    rewards.map((reward) => {
      const pool = pools.find((p) => p.reward_id === reward.id);
      return [
        reward.id,
        {
          inventory: inventory.find((i) => i.sku === reward.id) ?? null,
          coupons:
            reward.kind === 'coupon'
              ? {
                  total: pool?.total ?? 0,
                  available: pool?.available ?? 0,
                  used: (pool?.total ?? 0) - (pool?.available ?? 0),
                }
              : null,
        },
      ];
    }),
  );
}

/**
 * Rewards that could stand in for `reward`: active physical rewards (not the reward itself) in
 * the same currency, with `quantity` available, allowed for `tier`, in the same category when the
 * policy says so, and worth within the policy's band of the reward's cash value; the closest in
 * value first, then by id. Whether to substitute at all (`substitution.mode`) is the caller's call.
 */
export async function findSubstitutes(
  db: Db,
  reward: RewardRow,
  { tier, quantity }: { tier: string; quantity: number },
): Promise<RewardRow[]> {
  const policy = reward.substitution;
  const { rows } = await db.raw<{ rows: RewardRow[] }>(
    `SELECT r.* FROM rewards r JOIN inventory i ON i.sku = r.id
     WHERE r.active AND r.kind = 'physical' AND r.id <> ? AND r.currency = ?
       AND i.available >= ?
       AND (cardinality(r.tiers_allowed) = 0 OR ? = ANY (r.tiers_allowed))
       AND (NOT ? OR r.category = ?)
       AND abs(r.cash_value - ?::numeric) <= ?::numeric * ?::numeric
     ORDER BY abs(r.cash_value - ?::numeric), r.id`,
    [
      reward.id,
      reward.currency,
      quantity,
      tier,
      policy.sameCategory,
      reward.category,
      reward.cash_value,
      policy.cashValueBand,
      reward.cash_value,
      reward.cash_value,
    ],
  );
  return rows;
}
