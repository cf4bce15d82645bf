import type { ReactNode } from "react";

/** A list page's table: its column headers, then a last column for each row's buttons, named for screen readers. */
export function DataTable({ columns, children }: { columns: string[]; children: ReactNode }) {
  return (
    <table className="table">
      <thead>
        <tr>
          {columns.map((column) => (
            <th key={column} scope="col">
              {column}
            </th>
          ))}
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}
