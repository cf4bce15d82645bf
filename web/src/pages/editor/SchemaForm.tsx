// A node's inputs as a form generated from its JSON schema: ranges as sliders beside number inputs,
// enums as selects, booleans as checkboxes, media as pickers (upload, or one of the workspace's uploads
// and gallery outputs), required inputs marked, defaults shown.
import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ApiError, get, type Page, type StoredFile, upload } from "../../api";
import type { JsonSchema } from "./graph";


type MediaKind = "image" | "video" | "audio";
const MEDIA_LABEL = /^(list\[)?(image|video|audio|media)\]?( \| null)?$/;

/** How an input labelled `label` is picked: one file or a list, of which kind (null: any media);
 * undefined when it is not a media input. `image | null` and `list[image]` are pickers too. */
function mediaInput(label: string): { kind: MediaKind | null; multiple: boolean } | undefined {
  const match = MEDIA_LABEL.exec(label);
  if (!match || (match[1] !== undefined) !== label.includes("]")) return undefined;
  return { kind: match[2] === "media" ? null : (match[2] as MediaKind), multiple: match[1] !== undefined };
}

/** The workspace's uploads or its runs' outputs (the gallery) as a grid to pick one from. */
function Library({
  field,
  media,
  onPick,
  onClose,
}: {
  field: string;
  media: MediaKind | null;
  onPick: (file: StoredFile) => void;
  onClose: () => void;
}) {
  const [source, setSource] = useState<"upload" | "output">("upload");
  const query = useInfiniteQuery({
    queryKey: ["files", source, media],
    queryFn: ({ pageParam }) => {
      const params = new URLSearchParams({ source, limit: "24" });
      if (media) params.set("media", media);
      if (pageParam) params.set("cursor", pageParam);
      return get<Page<StoredFile>>(`/v1/files?${params.toString()}`);
    },
    initialPageParam: "",
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const files = query.data?.pages.flatMap((page) => page.data) ?? [];
  return (
    <div role="dialog" aria-label={`${field} library`} className="library">
      <div className="library-tabs" role="radiogroup" aria-label="Source">
        {(["upload", "output"] as const).map((choice) => (
          <label key={choice}>
            <input type="radio" name={`${field}-source`} checked={source === choice} onChange={() => setSource(choice)} />
            {choice === "upload" ? "Uploads" : "Gallery"}
          </label>
        ))}
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {query.isPending && <p className="loading">Loading…</p>}
      {query.isSuccess && files.length === 0 && (
        <p className="hint">{source === "upload" ? "Nothing uploaded yet." : "No outputs yet: run something first."}</p>
      )}
      <ul className="library-grid">
        {files.map((file) => (
          <li key={file.id}>
            <button type="button" title={file.filename ?? file.id} aria-label={`Pick ${file.filename ?? file.id}`} onClick={() => onPick(file)}>
              {file.thumbnail_url ? <img src={file.thumbnail_url} alt="" loading="lazy" /> : <span>{file.mime}</span>}
            </button>
          </li>
        ))}
      </ul>
      {query.hasNextPage && (
        <button type="button" onClick={() => void query.fetchNextPage()} disabled={query.isFetchingNextPage}>
          More
        </button>
      )}
    </div>
  );
}

/** A chosen file: its thumbnail (GET /v1/files/{id} signs a fresh link) and id, removable in a list. */
function FileChip({ fileId, alt, onRemove }: { fileId: string; alt: string; onRemove?: () => void }) {
  const file = useQuery({
    queryKey: ["file", fileId],
    queryFn: () => get<StoredFile>(`/v1/files/${encodeURIComponent(fileId)}`),
    staleTime: 5 * 60_000,
    retry: false,
  });
  return (
    <span className="file-chip">
      {file.data?.thumbnail_url && <img className="upload-thumb" src={file.data.thumbnail_url} alt={alt} />}{" "}
      <code>{fileId}</code>
      {file.isError && <small> (not found)</small>}
      {onRemove && (
        <button type="button" aria-label={`Remove ${alt}`} onClick={onRemove}>
          ×
        </button>
      )}
    </span>
  );
}

const fileIdOf = (item: unknown) => (item as { file_id?: unknown } | null)?.file_id;

/** A media input: a new upload (POST /v1/files) or a file picked from the uploads and the gallery.
 * The value is {"file_id"} (the bare id for a `file_id` field), or a list of those for `list[image]`. */
function MediaPicker({
  id,
  field,
  media,
  value,
  bare,
  multiple,
  onChange,
}: {
  id: string;
  field: string;
  media: MediaKind | null;
  value: unknown;
  bare: boolean;
  multiple: boolean;
  onChange: (value: unknown) => void;
}) {
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const [browsing, setBrowsing] = useState(false);
  const items = multiple && Array.isArray(value) ? (value as unknown[]) : [];
  const single = bare ? (typeof value === "string" ? value : null) : (fileIdOf(value) ?? null);
  const chosen = multiple
    ? items.map(fileIdOf).filter((id): id is string => typeof id === "string")
    : typeof single === "string"
      ? [single]
      : [];
  function choose(file: StoredFile) {
    setError(null);
    if (multiple) onChange([...items, { file_id: file.id }]);
    else onChange(bare ? file.id : { file_id: file.id });
  }
  function remove(index: number) {
    const rest = items.filter((_, i) => i !== index);
    onChange(rest.length ? rest : undefined);
  }
  return (
    <span className="upload-picker">
      <input
        id={id}
        type="file"
        aria-label={`${field} upload`}
        accept={media ? `${media}/*` : "image/*,video/*,audio/*"}
        onChange={(e) => {
          const file = e.target.files?.[0];
          if (!file) return;
          upload<StoredFile>("/v1/files", file, file.name)
            .then((made) => {
              queryClient.setQueryData(["file", made.id], made);
              choose(made);
              void queryClient.invalidateQueries({ queryKey: ["files"] });
            })
            .catch((err: unknown) => setError(err instanceof ApiError ? `${err.code}: ${err.message}` : String(err)));
        }}
      />
      <button type="button" onClick={() => setBrowsing(true)}>
        {multiple ? "Add from library" : "Choose from library"}
      </button>
      {chosen.map((fileId, index) => (
        <FileChip
          key={`${index}-${fileId}`}
          fileId={fileId}
          alt={multiple ? `${field} file ${index + 1}` : `${field} file`}
          onRemove={multiple ? () => remove(index) : undefined}
        />
      ))}
      {error && <small role="alert">{error}</small>}
      {browsing && (
        <Library
          field={field}
          media={media}
          onClose={() => setBrowsing(false)}
          onPick={(file) => {
            queryClient.setQueryData(["file", file.id], file);
            choose(file);
            setBrowsing(false);
          }}
        />
      )}
    </span>
  );
}

/** A round step giving a float slider about a hundred stops: 0.01 for 0–1, 1 for 0–256. */
function sliderStep(min: number, max: number): number {
  return max > min ? 10 ** Math.floor(Math.log10((max - min) / 100)) : 1;
}

function plain(schema: JsonSchema): JsonSchema {
  // `T | None` arrives as anyOf [T, {type: null}]: the form edits T.
  if (schema.anyOf) {
    const member = schema.anyOf.find((s) => s.type !== "null");
    if (member) return { ...member, title: schema.title, description: schema.description, default: schema.default };
  }
  return schema;
}

/** `scope` keeps two forms on one page apart: it prefixes the element ids (`field-` by default)
 * and the pickers' and sliders' labels. */
export function SchemaForm({
  scope,
  schema,
  values,
  fallback,
  suggestions,
  fed,
  problems,
  onChange,
}: {
  scope?: string;
  schema: JsonSchema;
  values: Record<string, unknown>;
  /** What an empty field stands for, shown as its placeholder: the schema's default unless given. */
  fallback?: Record<string, unknown>;
  /** Values a text field offers to complete (the model ids a `model` input may name). */
  suggestions?: Record<string, string[]>;
  fed: Set<string>;
  problems: Map<string, string>;
  onChange: (field: string, value: unknown) => void;
}) {
  const required = new Set(schema.required ?? []);
  return (
    <div className="schema-form">
      {Object.entries(schema.properties ?? {}).map(([field, raw]) => {
        const prop = plain(raw);
        const label = (
          <span className="field-name">
            {field}
            {required.has(field) && (
              <abbr title="required" className="required">
                {" "}
                *
              </abbr>
            )}
          </span>
        );
        const problem = problems.get(field);
        const value = values[field];
        const inputId = `${scope ?? "field"}-${field}`;
        const named = scope ? `${scope} ${field}` : field;
        const standing = fallback && field in fallback ? fallback[field] : prop.default;
        const picked = mediaInput(raw["x-pixelmill-type"] ?? "");
        let control: React.ReactNode;
        if (fed.has(field)) {
          control = <em className="fed">from an edge</em>;
        } else if (picked || field === "file_id") {
          control = (
            <MediaPicker
              id={inputId}
              field={named}
              media={picked ? picked.kind : "image"}
              multiple={picked?.multiple ?? false}
              value={value}
              bare={field === "file_id"}
              onChange={(v) => onChange(field, v)}
            />
          );
        } else if (prop.$ref || prop.type === "object" || prop.type === "array") {
          control = (
            <textarea
              id={inputId}
              rows={2}
              defaultValue={value === undefined ? "" : JSON.stringify(value)}
              placeholder={standing === undefined ? "JSON" : JSON.stringify(standing)}
              onBlur={(e) => {
                const text = e.target.value.trim();
                if (text === "") return onChange(field, undefined);
                try {
                  onChange(field, JSON.parse(text));
                } catch {
                  onChange(field, text);
                }
              }}
            />
          );
        } else if (prop.enum) {
          control = (
            <select
              id={inputId}
              value={value === undefined ? "" : String(value)}
              onChange={(e) => {
                const chosen = prop.enum!.find((option) => String(option) === e.target.value);
                onChange(field, e.target.value === "" ? undefined : chosen);
              }}
            >
              <option value="">
                {fallback && field in fallback ? "published" : "default"} ({String(standing ?? "none")})
              </option>
              {prop.enum.map((option) => (
                <option key={String(option)} value={String(option)}>
                  {String(option)}
                </option>
              ))}
            </select>
          );
        } else if (prop.type === "boolean") {
          control = (
            <input
              id={inputId}
              type="checkbox"
              checked={value === undefined ? Boolean(standing) : Boolean(value)}
              onChange={(e) => onChange(field, e.target.checked)}
            />
          );
        } else if (prop.type === "integer" || prop.type === "number") {
          const min = prop.minimum ?? prop.exclusiveMinimum;
          const max = prop.maximum ?? prop.exclusiveMaximum;
          const step = prop.type === "integer" ? 1 : "any";
          const parse = (text: string) => (text === "" ? undefined : Number(text));
          const shown = value === undefined ? "" : String(value);
          control = (
            <span className="number-field">
              {min !== undefined && max !== undefined && (
                <input
                  type="range"
                  aria-label={`${named} slider`}
                  min={min}
                  max={max}
                  step={prop.type === "integer" ? 1 : sliderStep(min, max)}
                  value={value === undefined ? Number(standing ?? min) : Number(value)}
                  onChange={(e) => onChange(field, parse(e.target.value))}
                />
              )}
              <input
                id={inputId}
                type="number"
                min={min}
                max={max}
                step={step}
                value={shown}
                placeholder={standing === undefined ? "" : String(standing)}
                onChange={(e) => onChange(field, parse(e.target.value))}
              />
            </span>
          );
        } else {
          const offered = suggestions?.[field];
          control = (
            <input
              id={inputId}
              type="text"
              list={offered ? `${inputId}-options` : undefined}
              value={value === undefined ? "" : String(value)}
              placeholder={standing === undefined || standing === null ? "" : String(standing)}
              onChange={(e) => onChange(field, e.target.value === "" ? undefined : e.target.value)}
            />
          );
          if (offered)
            control = (
              <>
                {control}
                <datalist id={`${inputId}-options`}>
                  {offered.map((option) => (
                    <option key={option} value={option} />
                  ))}
                </datalist>
              </>
            );
        }
        return (
          <div className={problem ? "form-row invalid" : "form-row"} key={field}>
            <label htmlFor={inputId}>{label}</label>
            {control}
            <small className="hint">
              {raw["x-pixelmill-type"]}
              {prop.default !== undefined && prop.default !== null && ` · default ${JSON.stringify(prop.default)}`}
            </small>
            {problem && (
              <small role="alert" className="field-error">
                {problem}
              </small>
            )}
          </div>
        );
      })}
    </div>
  );
}
