// A form over a model's settings_schema (GET /v1/models): one labelled control per property the
// schema types describe (enum, boolean, integer, number, string). Properties the form cannot type
// (objects, lists, media references) stay out: they are for API clients. Only values the person
// changed are sent, so the node's own defaults apply to the rest.

export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  anyOf?: JsonSchema[];
  $ref?: string;
  title?: string;
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  maxLength?: number;
  properties?: Record<string, JsonSchema>;
  $defs?: Record<string, JsonSchema>;
}

type Kind = "enum" | "boolean" | "integer" | "number" | "string";
interface Field {
  name: string;
  kind: Kind;
  schema: JsonSchema;
  nullable: boolean;
}

function resolve(schema: JsonSchema, root: JsonSchema): JsonSchema {
  const name = schema.$ref?.split("/").at(-1);
  return name && root.$defs?.[name] ? { ...root.$defs[name], ...schema, $ref: undefined } : schema;
}

/** The control a property gets, unwrapping ``X | None`` (anyOf with null); null when untyped here. */
function fieldOf(name: string, raw: JsonSchema, root: JsonSchema): Field | null {
  let schema = resolve(raw, root);
  let nullable = false;
  if (schema.anyOf) {
    const others = schema.anyOf.filter((option) => option.type !== "null");
    nullable = others.length < schema.anyOf.length;
    if (others.length !== 1) return null;
    schema = { ...resolve(others[0], root), description: raw.description, default: raw.default, title: raw.title };
  }
  if (schema.enum) return { name, kind: "enum", schema, nullable };
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  if (type === "boolean" || type === "integer" || type === "number" || type === "string") {
    return { name, kind: type, schema, nullable };
  }
  return null;
}

export function formFields(schema: JsonSchema | null | undefined): Field[] {
  if (!schema?.properties) return [];
  return Object.entries(schema.properties)
    .map(([name, property]) => fieldOf(name, property, schema))
    .filter((field): field is Field => field !== null);
}

function label(field: Field): string {
  return field.schema.title ?? field.name.replaceAll("_", " ");
}

export function SettingsForm({
  schema,
  values,
  onChange,
}: {
  schema: JsonSchema | null | undefined;
  values: Record<string, unknown>;
  onChange: (values: Record<string, unknown>) => void;
}) {
  const fields = formFields(schema);
  if (fields.length === 0) return null;
  function set(name: string, value: unknown) {
    const next = { ...values };
    if (value === undefined) delete next[name];
    else next[name] = value;
    onChange(next);
  }
  return (
    <fieldset className="settings">
      <legend>Settings</legend>
      {fields.map((field) => {
        const id = `setting-${field.name}`;
        const hint = field.schema.description;
        const hintId = hint ? `${id}-hint` : undefined;
        const current = values[field.name];
        const placeholder = field.schema.default === undefined || field.schema.default === null ? "" : String(field.schema.default);
        let control;
        if (field.kind === "boolean") {
          control = (
            <input
              id={id}
              aria-describedby={hintId}
              type="checkbox"
              checked={typeof current === "boolean" ? current : field.schema.default === true}
              onChange={(e) => set(field.name, e.target.checked)}
            />
          );
        } else if (field.kind === "enum") {
          control = (
            <select id={id} aria-describedby={hintId} value={current === undefined ? "" : String(current)} onChange={(e) => set(field.name, e.target.value === "" ? undefined : field.schema.enum?.find((v) => String(v) === e.target.value))}>
              <option value="">{placeholder ? `default (${placeholder})` : "default"}</option>
              {(field.schema.enum ?? []).filter((v) => v !== null).map((v) => (
                <option key={String(v)} value={String(v)}>
                  {String(v)}
                </option>
              ))}
            </select>
          );
        } else if (field.kind === "string") {
          control = (
            <input
              id={id}
              aria-describedby={hintId}
              type="text"
              value={typeof current === "string" ? current : ""}
              placeholder={placeholder}
              maxLength={field.schema.maxLength}
              onChange={(e) => set(field.name, e.target.value === "" ? undefined : e.target.value)}
            />
          );
        } else {
          const integer = field.kind === "integer";
          control = (
            <input
              id={id}
              aria-describedby={hintId}
              type="number"
              inputMode={integer ? "numeric" : "decimal"}
              step={integer ? 1 : "any"}
              min={field.schema.minimum ?? field.schema.exclusiveMinimum}
              max={field.schema.maximum ?? field.schema.exclusiveMaximum}
              value={typeof current === "number" ? current : ""}
              placeholder={placeholder}
              onChange={(e) => set(field.name, e.target.value === "" ? undefined : Number(e.target.value))}
            />
          );
        }
        return (
          <div className="setting" key={field.name}>
            <label htmlFor={id} title={hint}>
              {label(field)}
            </label>
            {control}
            {hint && (
              <small className="hint" id={hintId}>
                {hint}
              </small>
            )}
          </div>
        );
      })}
    </fieldset>
  );
}
