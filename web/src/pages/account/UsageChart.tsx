import { useQuery } from "@tanstack/react-query";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { get } from "../../api";
import type { UsageReport } from "../../accountApi";

/**
 * Credits spent in the last 30 days, per day and per model. Lazily loaded with its chart library so
 * the console's first load stays small; the numbers are also in a table for screen readers.
 */
export default function UsageChart() {
  const byDay = useQuery({
    queryKey: ["usage", "day"],
    queryFn: () => get<UsageReport>("/v1/credits/usage?group_by=day"),
  });
  const byModel = useQuery({
    queryKey: ["usage", "model"],
    queryFn: () => get<UsageReport>("/v1/credits/usage?group_by=model"),
  });
  const error = byDay.error ?? byModel.error;
  return (
    <section aria-labelledby="usage-title" className="usage">
      <h2 id="usage-title">Usage, last 30 days</h2>
      {error && <p role="alert">Could not load usage: {error.message}</p>}
      {byDay.data && (
        <p>
          Spent: <strong data-testid="usage-total">{byDay.data.total}</strong> credits
        </p>
      )}
      <div className="charts">
        {[
          ["By day", byDay.data, "usage-by-day"],
          ["By model", byModel.data, "usage-by-model"],
        ].map(([title, report, testId]) => {
          const data = (report as UsageReport | undefined)?.data ?? [];
          return (
            <figure key={testId as string} data-testid={testId as string}>
              <figcaption>{title as string}</figcaption>
              {data.length === 0 ? (
                <p>No credits spent yet.</p>
              ) : (
                <>
                  <ResponsiveContainer width="100%" height={220}>
                    <BarChart data={data}>
                      <CartesianGrid strokeDasharray="3 3" />
                      <XAxis dataKey="key" />
                      <YAxis allowDecimals={false} />
                      <Tooltip />
                      <Bar dataKey="credits" fill="var(--accent, #4f6bed)" isAnimationActive={false} />
                    </BarChart>
                  </ResponsiveContainer>
                  <table className="table compact">
                    <tbody>
                      {data.map((bucket) => (
                        <tr key={bucket.key}>
                          <th scope="row">{bucket.key}</th>
                          <td>{bucket.credits} credits</td>
                          <td>{bucket.runs} runs</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </>
              )}
            </figure>
          );
        })}
      </div>
    </section>
  );
}
