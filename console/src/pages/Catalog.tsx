/**
 * Catalog and stock: every reward with its price and value; physical ones with their stock against
 * the replenishment threshold (low stock stands out, in words as well as colour); coupon pools with
 * the codes left. Read-only: stock and codes are changed through the API (admin, ops).
 */
import { useState } from 'react';
import {
  Empty,
  ErrorState,
  Loading,
  PageHeading,
  UpdatedAt,
  statusLabel,
  usePolling,
} from '../components';
import { formatMoney, formatNumber } from '../format';
import { resources, type CatalogReward } from '../resources';

const kinds = ['physical', 'gift_card', 'coupon'] as const;
const isLow = (r: CatalogReward) => Boolean(r.inventory?.low);
const poolEmpty = (r: CatalogReward) => r.coupons !== null && r.coupons.available === 0;

export function Catalog() {
  const [kind, setKind] = useState('');
  const [lowOnly, setLowOnly] = useState(false);
  const catalog = usePolling(resources.rewards, 15_000, 'catalog');
  const all = catalog.data ?? [];
  const shown = all.filter(
    (r) => (!kind || r.kind === kind) && (!lowOnly || isLow(r) || poolEmpty(r)),
  );
  const low = all.filter(isLow).length;
  const empty = all.filter(poolEmpty).length;

  return (
    <section aria-labelledby="catalog-heading">
      <div className="page-head">
        <PageHeading title="Catalog and stock">
          <span id="catalog-heading">Catalog and stock</span>
        </PageHeading>
        <UpdatedAt at={catalog.updatedAt} />
      </div>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div>
          <label htmlFor="catalog-kind">Kind</label>
          <select id="catalog-kind" value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="">Every kind</option>
            {kinds.map((k) => (
              <option key={k} value={k}>
                {statusLabel(k)}
              </option>
            ))}
          </select>
        </div>
        <div className="check">
          <input
            id="catalog-low"
            type="checkbox"
            checked={lowOnly}
            onChange={(e) => setLowOnly(e.target.checked)}
          />
          <label htmlFor="catalog-low">Only low stock and empty coupon pools</label>
        </div>
      </form>
      {catalog.error && <ErrorState error={catalog.error} retry={catalog.reload} />}
      {!catalog.data ? (
        !catalog.error && <Loading what="the catalog" />
      ) : (
        <>
          <p className="summary" data-summary>
            {formatNumber(all.length)} rewards ·{' '}
            <span className={low ? 'low-count' : undefined}>{formatNumber(low)} low on stock</span>{' '}
            · {formatNumber(empty)} coupon pools empty
          </p>
          {!shown.length ? (
            <Empty>
              {all.length ? 'No reward matches these filters.' : 'The catalog has no rewards yet.'}
            </Empty>
          ) : (
            <RewardTable rewards={shown} />
          )}
        </>
      )}
    </section>
  );
}

function Stock({ r }: { r: CatalogReward }) {
  if (r.inventory) {
    const s = r.inventory;
    return (
      <>
        <strong>{formatNumber(s.available)}</strong> available of {formatNumber(s.onHand)} on hand (
        {formatNumber(s.reserved)} reserved); threshold {formatNumber(s.threshold)}{' '}
        {s.low && <span className="badge stock-low">Low stock</span>}
        {s.replenishmentRequestedAt && <span className="moved">replenishment requested</span>}
      </>
    );
  }
  if (r.coupons) {
    const c = r.coupons;
    return (
      <>
        <strong>{formatNumber(c.available)}</strong> codes left of {formatNumber(c.total)} (
        {formatNumber(c.used)} used){' '}
        {c.available === 0 && <span className="badge stock-low">Pool empty</span>}
      </>
    );
  }
  return <>issued by {r.provider ?? 'the provider'} on demand</>;
}

function RewardTable({ rewards }: { rewards: CatalogReward[] }) {
  return (
    <table className="catalog">
      <caption className="visually-hidden">Rewards by id, with stock</caption>
      <thead>
        <tr>
          <th scope="col">Reward</th>
          <th scope="col">Kind</th>
          <th scope="col">Category</th>
          <th scope="col" className="number">
            Points
          </th>
          <th scope="col" className="number">
            Value
          </th>
          <th scope="col">Stock or coupon pool</th>
          <th scope="col">Active</th>
        </tr>
      </thead>
      <tbody>
        {rewards.map((r) => (
          <tr
            key={r.id}
            data-reward={r.id}
            className={isLow(r) || poolEmpty(r) ? 'low' : undefined}
          >
            <td>
              {r.name}
              <br />
              <code>{r.id}</code>
            </td>
            <td>{statusLabel(r.kind)}</td>
            <td>{r.category}</td>
            <td className="number">{formatNumber(r.pointsCost)}</td>
            <td className="number">{formatMoney(r.cashValue, r.currency)}</td>
            <td data-stock>
              <Stock r={r} />
            </td>
            <td>{r.active ? 'yes' : 'no'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
