// A node's inputs as a form generated from its JSON schema: ranges as sliders beside number inputs,
// enums as selects, booleans as checkboxes, required inputs marked, defaults shown.
import { useState } from "react";
import { ApiError } from "../../api";
import type { JsonSchema } from "./graph";

const MEDIA = new Set(["image", "video", "audio", "media", "image | null", "video | null", "audio | null"]);

function csrf(): string {
  const match = document.cookie.split("; ").find((part) => part.startsWith("pixelmill_csrf="));
  return match ? decodeURIComponent(match.slice("pixelmill_csrf=".length)) : "";
}

/** A media input picked by uploading a file: POST /v1/files, then {"file_id"} (or the bare id). */
function UploadPicker({
  field,
  value,
  bare,
  onChange,
}: {
  field: string;
  value: unknown;
  bare: boolean;
  onChange: (value: unknown) => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [thumbnail, setThumbnail] = useState<string | null>(null);
  const fileId = bare ? (typeof value === "string" ? value : null) : ((value as { file_id?: string } | undefined)?.file_id ?? null);
  async function upload(file: File) {
    const form = new FormData();
    form.append("file", file);
    const response = await fetch("/v1/files", { method: "POST", body: form, headers: { "X-CSRF-Token": csrf() } });
    const body = (await response.json()) as {
      id?: string;
      thumbnail_url?: string | null;
      error?: { code: string; message: string };
    };
    if (!response.ok || !body.id) throw new ApiError(response.status, body.error?.code ?? "UPLOAD_FAILED", body.error?.message ?? "");
    setError(null);
    setThumbnail(body.thumbnail_url ?? null); // a signed link: the session cookie is not a bearer credential
    onChange(bare ? body.id : { file_id: body.id });
  }
  return (
    <span className="upload-picker">
      <input
        type="file"
        aria-label={`${field} upload`}
        accept="image/*,video/*,audio/*"
        onChange={(e) => {
          const file = e.target.files?.[0];
          if (file) upload(file).catch((err: unknown) => setError(err instanceof ApiError ? `${err.code}: ${err.message}` : String(err)));
        }}
      />
      {fileId && (
        <span>
          {thumbnail && <img className="upload-thumb" src={thumbnail} alt={`${field} file`} />} <code>{fileId}</code>
        </span>
      )}
      {error && <small role="alert">{error}</small>}
    </span>
  );
}

function plain(schema: JsonSchema): JsonSchema {
  // `T | None` arrives as anyOf [T, {type: null}]: the form edits T.
  if (schema.anyOf) {
    const member = schema.anyOf.find((s) => s.type !== "null");
    if (member) return { ...member, title: schema.title, description: schema.description, default: schema.default };
  }
  return schema;
}

export function SchemaForm({
  schema,
  values,
  fed,
  problems,
  onChange,
}: {
  schema: JsonSchema;
  values: Record<string, unknown>;
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
        const inputId = `field-${field}`;
        let control: React.ReactNode;
        if (fed.has(field)) {
          control = <em className="fed">from an edge</em>;
        } else if (MEDIA.has(raw["x-pixelmill-type"] ?? "") || field === "file_id") {
          control = (
            <UploadPicker field={field} value={value} bare={field === "file_id"} onChange={(v) => onChange(field, v)} />
          );
        } else if (prop.$ref || prop.type === "object" || prop.type === "array") {
          control = (
            <textarea
              id={inputId}
              rows={2}
              defaultValue={value === undefined ? "" : JSON.stringify(value)}
              placeholder={prop.default === undefined ? "JSON" : JSON.stringify(prop.default)}
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
              <option value="">default ({String(prop.default ?? "none")})</option>
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
              checked={value === undefined ? Boolean(prop.default) : Boolean(value)}
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
                  aria-label={`${field} slider`}
                  min={min}
                  max={max}
                  step={prop.type === "integer" ? 1 : (max - min) / 100}
                  value={value === undefined ? Number(prop.default ?? min) : Number(value)}
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
                placeholder={prop.default === undefined ? "" : String(prop.default)}
                onChange={(e) => onChange(field, parse(e.target.value))}
              />
            </span>
          );
        } else {
          control = (
            <input
              id={inputId}
              type="text"
              value={value === undefined ? "" : String(value)}
              placeholder={prop.default === undefined || prop.default === null ? "" : String(prop.default)}
              onChange={(e) => onChange(field, e.target.value === "" ? undefined : e.target.value)}
            />
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
