import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useMemo, useRef, useState } from "react";
import { Link } from "react-router";
import { ApiError, del, type Generation, get, type Page, post } from "../api";
import { isMedia, OutputView } from "../media";

const CELL = 180; // px: thumbnail cell including its gap
const PAGE = 100;

interface Item {
  generation: Generation;
  url: string;
  index: number;
}

/** The server's small preview of an image output (the signature covers the path, not the query). */
function previewOf(url: string): string {
  const preview = new URL(url, window.location.href);
  preview.searchParams.set("preview", "true");
  return preview.toString();
}

/** Every media output of the workspace's generations, newest first, as a virtualised grid. */
export function Gallery() {
  const queryClient = useQueryClient();
  const generations = useInfiniteQuery({
    queryKey: ["generations"],
    queryFn: ({ pageParam }) =>
      get<Page<Generation>>(`/v1/generations?limit=${PAGE}${pageParam ? `&cursor=${encodeURIComponent(pageParam)}` : ""}`),
    initialPageParam: "",
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = useMemo<Item[]>(
    () =>
      (generations.data?.pages ?? []).flatMap((page) =>
        page.data
          .filter((g) => g.status === "completed" && isMedia(g.output_type))
          .flatMap((g) => g.outputs.map((url, index) => ({ generation: g, url: String(url), index }))),
      ),
    [generations.data],
  );

  const scroller = useRef<HTMLDivElement>(null);
  const [columns, setColumns] = useState(4);
  useEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const observer = new ResizeObserver(([entry]) => setColumns(Math.max(1, Math.floor(entry.contentRect.width / CELL))));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  const rows = Math.ceil(items.length / columns);
  const virtualizer = useVirtualizer({
    count: rows,
    getScrollElement: () => scroller.current,
    estimateSize: () => CELL,
    overscan: 3,
  });
  const virtualRows = virtualizer.getVirtualItems();
  const lastRow = virtualRows.at(-1)?.index ?? 0;
  useEffect(() => {
    if (lastRow >= rows - 2 && generations.hasNextPage && !generations.isFetchingNextPage) void generations.fetchNextPage();
  }, [lastRow, rows, generations]);

  const [open, setOpen] = useState<Item | null>(null);
  const [deleted, setDeleted] = useState<Generation | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function remove(generation: Generation) {
    setError(null);
    try {
      await del(`/v1/generations/${generation.id}`);
      setOpen(null);
      setDeleted(generation);
      await queryClient.invalidateQueries({ queryKey: ["generations"] });
    } catch (exc) {
      setError(exc instanceof ApiError ? exc.message : String(exc));
    }
  }

  async function undo(generation: Generation) {
    setError(null);
    try {
      await post(`/v1/runs/${generation.id}/restore`);
      setDeleted(null);
      await queryClient.invalidateQueries({ queryKey: ["generations"] });
    } catch (exc) {
      setError(exc instanceof ApiError ? exc.message : String(exc));
    }
  }

  return (
    <section aria-labelledby="gallery-title" className="gallery">
      <h1 id="gallery-title">Gallery</h1>
      {deleted && (
        <p role="status" className="toast">
          Deleted “{deleted.prompt || deleted.id}”.{" "}
          <button type="button" onClick={() => void undo(deleted)}>
            Undo
          </button>
        </p>
      )}
      {error && <p role="alert">{error}</p>}
      {generations.error && <p role="alert">Could not load the gallery: {generations.error.message}</p>}
      {generations.isSuccess && items.length === 0 && <p>Nothing here yet: generate something first.</p>}
      <div ref={scroller} className="grid-scroller" data-testid="gallery-grid">
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {virtualRows.map((row) => (
            <div
              key={row.key}
              className="grid-row"
              style={{ transform: `translateY(${row.start}px)`, height: CELL }}
            >
              {items.slice(row.index * columns, row.index * columns + columns).map((item) => (
                <button
                  type="button"
                  key={`${item.generation.id}-${item.index}`}
                  className="thumb"
                  onClick={() => setOpen(item)}
                  aria-label={`Open ${item.generation.prompt || item.generation.id}`}
                >
                  {item.generation.output_type === "image" || item.generation.output_type === "images" ? (
                    <img src={previewOf(item.url)} alt="" decoding="async" width={CELL - 12} height={CELL - 12} />
                  ) : (
                    <span className="thumb-label">{item.generation.output_type}</span>
                  )}
                </button>
              ))}
            </div>
          ))}
        </div>
      </div>
      {open && <Lightbox item={open} onClose={() => setOpen(null)} onDelete={() => void remove(open.generation)} />}
    </section>
  );
}

function Lightbox({ item, onClose, onDelete }: { item: Item; onClose: () => void; onDelete: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const { generation } = item;
  return (
    <dialog ref={dialog} className="lightbox" onClose={onClose} aria-label="Output">
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
        <a href={item.url} download>
          Download
        </a>
        {(generation.output_type === "image" || generation.output_type === "images") && (
          <Link to={`/generate?source=${generation.id}`}>Use as input</Link>
        )}
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
