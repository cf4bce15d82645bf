import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { type KeyboardEvent, useEffect, useMemo, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { ApiError, del, type Generation, get, type Page, post } from "../api";
import { isMedia, OutputView } from "../media";
import { type Filters, filterQuery, GalleryFilters } from "./GalleryFilters";

const MIN_CELL = 150; // px: narrowest thumbnail cell including its gap
const MIN_COLUMNS = 2; // a phone still gets a grid, not a list
const PAGE = 100;
const FILTER_KEYS = ["source", "generation_type", "model_name", "project_id", "from", "to"] as const;

/** A graph or workflow run as the gallery shows it: outputs in node order, no prompt of its own. */
interface RunWithOutputs {
  run_id: string;
  kind: string;
  status: string;
  outputs: Record<string, { type: string; value: unknown }>;
  nodes: { model: string | null }[];
  credits_used: number;
  created_at: string;
}
function asGeneration(run: RunWithOutputs): Generation[] {
  const model = run.nodes.find((n) => n.model)?.model ?? "";
  return Object.entries(run.outputs)
    .filter(([, output]) => isMedia(output.type))
    .map(([nodeId, output]) => ({
      id: run.run_id,
      generation_type: run.kind,
      model_name: model,
      prompt: `${run.kind} run ${run.run_id} · ${nodeId}`,
      settings: {},
      status: "completed",
      progress: 100,
      credit_cost: run.credits_used,
      outputs: Array.isArray(output.value) ? output.value : [output.value],
      output_type: output.type,
      error: null,
      created_at: run.created_at,
    }));
}

interface Item {
  generation: Generation;
  url: string;
  index: number;
  key: string;
}

/** The server's small preview of an image output (the signature covers the path, not the query). */
function previewOf(url: string): string {
  const preview = new URL(url, window.location.href);
  preview.searchParams.set("preview", "true");
  return preview.toString();
}

const isImage = (g: Generation) => g.output_type === "image" || g.output_type === "images";

/** Every media output of the workspace's generations, newest first, as a virtualised grid; the
 * filters live in the address (shareable) and narrow on the server. */
export function Gallery() {
  const queryClient = useQueryClient();
  const [params, setParams] = useSearchParams();
  const filters = Object.fromEntries(FILTER_KEYS.map((key) => [key, params.get(key) ?? ""])) as unknown as Filters;
  const query = filterQuery(filters);
  const generations = useInfiniteQuery({
    queryKey: ["generations", query],
    queryFn: async ({ pageParam }): Promise<Page<Generation>> => {
      const page = `limit=${PAGE}&${query}${pageParam ? `&cursor=${encodeURIComponent(pageParam)}` : ""}`;
      if (!filters.source) return get<Page<Generation>>(`/v1/generations?${page}`);
      const runs = await get<Page<RunWithOutputs>>(`/v1/runs?${page}`);
      return { data: runs.data.flatMap(asGeneration), next_cursor: runs.next_cursor };
    },
    initialPageParam: "",
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = useMemo<Item[]>(
    () =>
      (generations.data?.pages ?? []).flatMap((page) =>
        page.data
          .filter((g) => g.status === "completed" && isMedia(g.output_type))
          .flatMap((g) =>
            g.outputs.map((url, index) => ({ generation: g, url: String(url), index, key: `${g.id}-${g.prompt}-${index}` })),
          ),
      ),
    [generations.data],
  );

  const scroller = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(4 * 180);
  useEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const observer = new ResizeObserver(([entry]) => setWidth(entry.contentRect.width));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  const columns = Math.max(MIN_COLUMNS, Math.floor(width / MIN_CELL));
  const cell = Math.floor(width / columns);
  const rows = Math.ceil(items.length / columns);
  const virtualizer = useVirtualizer({
    count: rows,
    getScrollElement: () => scroller.current,
    estimateSize: () => cell,
    overscan: 3,
  });
  useEffect(() => virtualizer.measure(), [cell, virtualizer]);
  const virtualRows = virtualizer.getVirtualItems();
  const lastRow = virtualRows.at(-1)?.index ?? 0;
  useEffect(() => {
    if (lastRow >= rows - 2 && generations.hasNextPage && !generations.isFetchingNextPage) void generations.fetchNextPage();
  }, [lastRow, rows, generations]);

  // Keyboard: one tab stop in the grid; arrows move it (scrolling the row into view), Enter opens.
  const [focused, setFocused] = useState(0);
  const focusAfterRender = useRef(false);
  useEffect(() => {
    if (!focusAfterRender.current) return;
    focusAfterRender.current = false;
    scroller.current?.querySelector<HTMLElement>(`[data-index="${focused}"]`)?.focus();
  });
  function onGridKey(event: KeyboardEvent) {
    const moves: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns };
    let next = focused + (moves[event.key] ?? 0);
    if (event.key === "Home") next = 0;
    if (event.key === "End") next = items.length - 1;
    if (next === focused || !(event.key in moves || event.key === "Home" || event.key === "End")) return;
    event.preventDefault();
    next = Math.max(0, Math.min(items.length - 1, next));
    virtualizer.scrollToIndex(Math.floor(next / columns));
    focusAfterRender.current = true;
    setFocused(next);
  }

  const [open, setOpen] = useState<number | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [deleted, setDeleted] = useState<Generation[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setSelected(new Set()), [query]);

  function toggle(id: string) {
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }

  async function remove(targets: Generation[]) {
    setError(null);
    const done: Generation[] = [];
    try {
      for (const generation of targets) {
        // A generation is a run: one route deletes (and restores) both kinds.
        await del(`/v1/runs/${generation.id}`);
        done.push(generation);
      }
    } catch (exc) {
      setError(exc instanceof ApiError ? exc.message : String(exc));
    }
    setOpen(null);
    setSelected(new Set());
    setDeleted(done);
    await queryClient.invalidateQueries({ queryKey: ["generations"] });
  }

  async function undo(targets: Generation[]) {
    setError(null);
    try {
      for (const generation of targets) await post(`/v1/runs/${generation.id}/restore`);
      setDeleted([]);
    } catch (exc) {
      setError(exc instanceof ApiError ? exc.message : String(exc));
    }
    await queryClient.invalidateQueries({ queryKey: ["generations"] });
  }

  /** One browser download after another: each output is a signed link the server names. */
  async function download(targets: Item[]) {
    for (const item of targets) {
      const link = document.createElement("a");
      link.href = item.url;
      link.download = "";
      link.click();
      await new Promise((resolve) => window.setTimeout(resolve, 250));
    }
  }

  const chosen = useMemo(() => {
    const generations = new Map<string, Generation>();
    for (const item of items) if (selected.has(item.generation.id)) generations.set(item.generation.id, item.generation);
    return [...generations.values()];
  }, [items, selected]);

  return (
    <section aria-labelledby="gallery-title" className="gallery">
      <h1 id="gallery-title">Gallery</h1>
      <GalleryFilters
        filters={filters}
        onChange={(next) => setParams(Object.fromEntries(Object.entries(next).filter(([, value]) => value !== "")))}
      />
      {deleted.length > 0 && (
        <p role="status" className="toast">
          Deleted {deleted.length === 1 ? `“${deleted[0].prompt || deleted[0].id}”` : `${deleted.length} generations`}.{" "}
          <button type="button" onClick={() => void undo(deleted)}>
            Undo
          </button>
        </p>
      )}
      {selected.size > 0 && (
        <div className="toolbar" role="toolbar" aria-label="Selection">
          <span data-testid="selected-count">{selected.size} selected</span>
          <button type="button" onClick={() => void download(items.filter((i) => selected.has(i.generation.id)))}>
            Download selected
          </button>
          <button type="button" onClick={() => void remove(chosen)}>
            Delete selected
          </button>
          <button type="button" onClick={() => setSelected(new Set())}>
            Clear selection
          </button>
        </div>
      )}
      {error && <p role="alert">{error}</p>}
      {generations.error && <p role="alert">Could not load the gallery: {generations.error.message}</p>}
      {generations.isSuccess && items.length === 0 && <p>Nothing here: generate something first, or change the filters.</p>}
      <div ref={scroller} className="grid-scroller" data-testid="gallery-grid" role="grid" aria-label="Outputs" aria-rowcount={rows} onKeyDown={onGridKey}>
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {virtualRows.map((row) => (
            <div
              key={row.key}
              className="grid-row"
              role="row"
              aria-rowindex={row.index + 1}
              style={{ transform: `translateY(${row.start}px)`, height: cell }}
            >
              {items.slice(row.index * columns, row.index * columns + columns).map((item, column) => {
                const index = row.index * columns + column;
                const label = item.generation.prompt || item.generation.id;
                return (
                  <div role="gridcell" key={item.key} className="cell" style={{ width: cell - 12, height: cell - 12 }}>
                    <button
                      type="button"
                      className="thumb"
                      data-index={index}
                      tabIndex={index === focused ? 0 : -1}
                      onFocus={() => setFocused(index)}
                      onClick={() => setOpen(index)}
                      aria-label={`Open ${label}`}
                    >
                      {isImage(item.generation) ? (
                        <img src={previewOf(item.url)} alt="" decoding="async" />
                      ) : (
                        <span className="thumb-label">{item.generation.output_type}</span>
                      )}
                    </button>
                    <input
                      type="checkbox"
                      className="pick"
                      tabIndex={index === focused ? 0 : -1}
                      checked={selected.has(item.generation.id)}
                      onChange={() => toggle(item.generation.id)}
                      aria-label={`Select ${label}`}
                    />
                  </div>
                );
              })}
            </div>
          ))}
        </div>
      </div>
      {open !== null && items[open] && (
        <Lightbox
          item={items[open]}
          position={`${open + 1} of ${items.length}`}
          onMove={(step) => setOpen((current) => (current === null ? null : Math.max(0, Math.min(items.length - 1, current + step))))}
          onClose={() => {
            setFocused(open);
            focusAfterRender.current = true;
            setOpen(null);
          }}
          onDelete={() => void remove([items[open].generation])}
        />
      )}
    </section>
  );
}

function Lightbox({
  item,
  position,
  onMove,
  onClose,
  onDelete,
}: {
  item: Item;
  position: string;
  onMove: (step: number) => void;
  onClose: () => void;
  onDelete: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const { generation } = item;
  function onKey(event: KeyboardEvent) {
    // Arrows page through the outputs unless a player or field has the focus (they use arrows).
    const target = event.target as HTMLElement;
    if (target.closest("video, audio, input, select, textarea")) return;
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      event.preventDefault();
      onMove(event.key === "ArrowRight" ? 1 : -1);
    }
  }
  return (
    <dialog ref={dialog} className="lightbox" onClose={onClose} onKeyDown={onKey} aria-label="Output">
      <p className="position" aria-live="polite">
        {position}
      </p>
      <OutputView type={generation.output_type} value={item.url} label={generation.prompt || generation.id} />
      <dl>
        <dt>Prompt</dt>
        <dd>{generation.prompt || "—"}</dd>
        <dt>Model</dt>
        <dd>{generation.model_name}</dd>
        <dt>Settings</dt>
        <dd>
          <code>{JSON.stringify(generation.settings)}</code>
        </dd>
        <dt>Credits</dt>
        <dd>{generation.credit_cost}</dd>
        <dt>Created</dt>
        <dd>{new Date(generation.created_at).toLocaleString()}</dd>
      </dl>
      <div className="actions">
        <button type="button" onClick={() => onMove(-1)} aria-label="Previous output">
          ←
        </button>
        <button type="button" onClick={() => onMove(1)} aria-label="Next output">
          →
        </button>
        <a href={item.url} download>
          Download
        </a>
        {isImage(generation) && <Link to={`/generate?source=${generation.id}`}>Use as input</Link>}
        <Link to={`/run/${generation.id}`}>Run details</Link>
        <button type="button" onClick={onDelete}>
          Delete
        </button>
        <button type="button" onClick={() => dialog.current?.close()}>
          Close
        </button>
      </div>
    </dialog>
  );
}
