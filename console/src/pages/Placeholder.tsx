import { PageHeading } from '../components';
import { Link } from '../router';

/** A page still to come (or an address that is no page). */
export function Placeholder({ title, missing = false }: { title: string; missing?: boolean }) {
  return (
    <section>
      <PageHeading title={title}>{title}</PageHeading>
      {missing ? (
        <p className="state empty">
          There is no such page. <Link to="/">Go to the redemption queue.</Link>
        </p>
      ) : (
        <p className="state empty">
          This page is not built yet. Until it is, the API has the data: see{' '}
          <a href="/docs/">the API documentation</a>.
        </p>
      )}
    </section>
  );
}
