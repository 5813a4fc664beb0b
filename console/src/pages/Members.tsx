/**
 * Member lookup: one field for a member id, an external id or an email (the API's `q` matches any
 * of the three, email in any letter case); each member found opens their page.
 */
import { useState, type FormEvent } from 'react';
import { Empty, ErrorState, Loading, PageHeading, StatusBadge } from '../components';
import { formatNumber } from '../format';
import { resources, type MemberFound } from '../resources';
import { Link } from '../router';

type Found = { q: string; members: MemberFound[] } | { q: string; error: Error } | { q: string };

/** The last search, kept while the console is open, so going back to the list finds it again. */
let lastSearch: Found | null = null;

export function Members() {
  const [q, setQ] = useState(lastSearch?.q ?? '');
  const [found, setFound] = useState<Found | null>(lastSearch);
  const show = (next: Found) => {
    lastSearch = next;
    setFound(next);
  };
  const search = async (event: FormEvent) => {
    event.preventDefault();
    const wanted = q.trim();
    if (!wanted)
      return show({ q, error: new Error('Type a member id, an external id or an email.') });
    show({ q: wanted });
    try {
      show({ q: wanted, ...(await resources.findMembers(wanted)) });
    } catch (err) {
      show({ q: wanted, error: err instanceof Error ? err : new Error(String(err)) });
    }
  };

  return (
    <section aria-labelledby="members-heading">
      <PageHeading title="Members">
        <span id="members-heading">Members</span>
      </PageHeading>
      <form className="filters lookup" role="search" onSubmit={(e) => void search(e)}>
        <div>
          <label htmlFor="member-q">Member id, external id or email</label>
          <input
            id="member-q"
            value={q}
            size={40}
            autoComplete="off"
            placeholder="e.g. cust-1042 or ana@example.com"
            onChange={(e) => setQ(e.target.value)}
          />
        </div>
        <div className="submit">
          <button type="submit">Find</button>
        </div>
      </form>
      {!found ? (
        <p className="help">Find a member to see their balances, tier, ledger and redemptions.</p>
      ) : 'error' in found ? (
        <ErrorState error={found.error} />
      ) : !('members' in found) ? (
        <Loading what="members" />
      ) : !found.members.length ? (
        <Empty>
          No member has the id, external id or email <strong>{found.q}</strong>.
        </Empty>
      ) : (
        <MemberTable members={found.members} />
      )}
    </section>
  );
}

function MemberTable({ members }: { members: MemberFound[] }) {
  return (
    <table className="members">
      <caption className="visually-hidden">Members found</caption>
      <thead>
        <tr>
          <th scope="col">Member</th>
          <th scope="col">External id</th>
          <th scope="col">Email</th>
          <th scope="col">Tier</th>
          <th scope="col">Status</th>
          <th scope="col" className="number">
            Available points
          </th>
        </tr>
      </thead>
      <tbody>
        {members.map((m) => (
          <tr key={m.id} data-member={m.id}>
            <td>
              <Link to={`/members/${m.id}`}>{m.name ?? m.externalId}</Link>
            </td>
            <td>
              <code>{m.externalId}</code>
            </td>
            <td>{m.email ?? '—'}</td>
            <td>{m.tier}</td>
            <td>
              <StatusBadge status={m.status} />
            </td>
            <td className="number">{formatNumber(m.balance.available)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
