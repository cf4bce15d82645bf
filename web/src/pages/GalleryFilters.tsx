import { useQuery } from "@tanstack/react-query";
import { get, type Model } from "../api";

const TYPES = ["image", "video", "voice", "music", "infographic"] as const;

export interface Filters {
  source: string; // "": generations; "graph" or "workflow": runs of that kind
  generation_type: string;
  model_name: string;
  project_id: string;
  from: string; // yyyy-mm-dd, local day
  to: string;
}

/** The list API's query for ``filters``: each set filter narrows on the server. Days are the
 * browser's local days, sent as instants. */
export function filterQuery(filters: Filters): string {
  const query = new URLSearchParams({ status: "completed" });
  if (filters.source) {
    // Runs carry no generation type, model or project: only kind and time narrow them.
    query.set("kind", filters.source);
    filters = { ...filters, generation_type: "", model_name: "", project_id: "" };
  }
  if (filters.generation_type) query.set("generation_type", filters.generation_type);
  if (filters.model_name) query.set("model_name", filters.model_name);
  if (filters.project_id) query.set("project_id", filters.project_id);
  if (filters.from) query.set("created_after", new Date(`${filters.from}T00:00:00`).toISOString());
  if (filters.to) {
    const end = new Date(`${filters.to}T00:00:00`);
    end.setDate(end.getDate() + 1);
    query.set("created_before", end.toISOString());
  }
  return query.toString();
}

export function GalleryFilters({ filters, onChange }: { filters: Filters; onChange: (next: Filters) => void }) {
  const models = useQuery({ queryKey: ["models"], queryFn: () => get<{ data: Model[] }>("/v1/models") });
  const projects = useQuery({
    queryKey: ["projects"],
    queryFn: () => get<{ data: { id: string; name: string }[] }>("/v1/projects?limit=50"),
  });
  const set = (key: keyof Filters) => (event: { target: { value: string } }) =>
    onChange({ ...filters, [key]: event.target.value });
  return (
    <form className="filters" role="search" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
      <label htmlFor="filter-source">Source</label>
      <select id="filter-source" value={filters.source} onChange={set("source")}>
        <option value="">Generations</option>
        <option value="graph">Graph runs</option>
        <option value="workflow">Workflow runs</option>
      </select>
      {!filters.source && (
        <>
      <label htmlFor="filter-type">Type</label>
      <select id="filter-type" value={filters.generation_type} onChange={set("generation_type")}>
        <option value="">All types</option>
        {TYPES.map((t) => (
          <option key={t} value={t}>
            {t}
          </option>
        ))}
      </select>
      <label htmlFor="filter-model">Model</label>
      <select id="filter-model" value={filters.model_name} onChange={set("model_name")}>
        <option value="">All models</option>
        {(models.data?.data ?? [])
          .filter((m) => !filters.generation_type || m.generation_type === filters.generation_type)
          .map((m) => (
            <option key={m.id} value={m.id}>
              {m.id}
            </option>
          ))}
      </select>
      <label htmlFor="filter-project">Project</label>
      <select id="filter-project" value={filters.project_id} onChange={set("project_id")}>
        <option value="">All projects</option>
        {(projects.data?.data ?? []).map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </select>
        </>
      )}
      <label htmlFor="filter-from">From</label>
      <input id="filter-from" type="date" value={filters.from} onChange={set("from")} />
      <label htmlFor="filter-to">To</label>
      <input id="filter-to" type="date" value={filters.to} onChange={set("to")} />
    </form>
  );
}
