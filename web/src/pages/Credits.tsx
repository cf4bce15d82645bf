import { useQuery } from "@tanstack/react-query";
import { lazy, Suspense } from "react";
import { get, type LedgerEntry, type Page, type Wallet } from "../api";

// The chart library is heavy: loaded only when the credits page is opened.
const UsageChart = lazy(() => import("./account/UsageChart"));

/** The workspace's wallet and its ledger, newest first. */
export function Credits() {
  const wallet = useQuery({ queryKey: ["wallet"], queryFn: () => get<Wallet>("/v1/credits/wallet") });
  const ledger = useQuery({
    queryKey: ["ledger"],
    queryFn: () => get<Page<LedgerEntry>>("/v1/credits/ledger?limit=100"),
  });
  return (
    <section aria-labelledby="credits-title">
      <h1 id="credits-title">Credits</h1>
      {wallet.data && (
        <dl className="wallet">
          <div>
            <dt>Balance</dt>
            <dd data-testid="balance">{wallet.data.balance}</dd>
          </div>
          <div>
            <dt>Reserved</dt>
            <dd>{wallet.data.reserved}</dd>
          </div>
          <div>
            <dt>Available</dt>
            <dd>{wallet.data.available}</dd>
          </div>
        </dl>
      )}
      <Suspense fallback={<p className="loading">Loading usage…</p>}>
        <UsageChart />
      </Suspense>
      {(wallet.error ?? ledger.error) && <p role="alert">Could not load credits: {(wallet.error ?? ledger.error)?.message}</p>}
      <table className="table">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Kind</th>
            <th scope="col">Amount</th>
            <th scope="col">Run</th>
            <th scope="col">Note</th>
          </tr>
        </thead>
        <tbody>
          {(ledger.data?.data ?? []).map((entry) => (
            <tr key={entry.id}>
              <td>{new Date(entry.created_at).toLocaleString()}</td>
              <td>{entry.kind}</td>
              <td>{entry.amount}</td>
              <td>{entry.run_id && <code>{entry.run_id}</code>}</td>
              <td>{entry.note}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
