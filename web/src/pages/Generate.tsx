import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { ApiError, get, type Generation, type Model, post, type StoredFile } from "../api";
import { ReferenceDrop } from "../components/ReferenceDrop";
import { SettingsForm } from "../components/SettingsForm";
import { type RunEvent, TERMINAL_EVENTS, useEventStream } from "../events";
import { OutputView } from "../media";

const TYPES = ["image", "video", "voice", "music", "infographic", "text"] as const;

interface NodeProgress {
  type: string;
  status: string;
  progress: number | null;
  preview: string | null;
}

export function Generate() {
  const [type, setType] = useState<(typeof TYPES)[number]>("image");
  const [modelId, setModelId] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [runId, setRunId] = useState<string | null>(null);
  const [runStatus, setRunStatus] = useState<string | null>(null);
  const [nodes, setNodes] = useState<Record<string, NodeProgress>>({});
  const [result, setResult] = useState<Generation | null>(null);
  const queryClient = useQueryClient();
  // "Use as input": an earlier image generation as the source of an image-to-image one.
  const [params, setParams] = useSearchParams();
  const sourceId = params.get("source");
  const source = useQuery({
    queryKey: ["generation", sourceId],
    queryFn: () => get<Generation>(`/v1/generations/${sourceId}`),
    enabled: sourceId !== null,
  });
  // A reference image dropped, pasted or picked: an uploaded file, the source like an earlier image.
  const [reference, setReference] = useState<StoredFile | null>(null);
  const hasSource = sourceId !== null || reference !== null;
  const catalogue = useQuery({
    queryKey: ["generation-models"],
    queryFn: () => get<{ image_modes: string[]; defaults: Record<string, string | null> }>("/v1/generations/models"),
  });

  const models = useQuery({ queryKey: ["models"], queryFn: () => get<{ data: Model[] }>("/v1/models") });
  const choices = useMemo(() => (models.data?.data ?? []).filter((m) => m.generation_type === type), [models.data, type]);
  // The settings form follows the chosen model, or the one the server picks for the type.
  const [settings, setSettings] = useState<Record<string, unknown>>({});
  const effectiveModel = modelId || catalogue.data?.defaults[type] || "";
  const settingsSchema = choices.find((m) => m.id === effectiveModel)?.settings_schema;

  useEventStream(runId && `/v1/runs/${runId}/events`, (event: RunEvent) => {
    const nodeId = typeof event.data.node_id === "string" ? event.data.node_id : null;
    if (nodeId) {
      setNodes((current) => ({
        ...current,
        [nodeId]: {
          type: String(event.data.node_type ?? current[nodeId]?.type ?? ""),
          status: event.name.replace("node_", ""),
          progress: typeof event.data.progress === "number" ? event.data.progress : (current[nodeId]?.progress ?? null),
          preview: typeof event.data.preview === "string" ? event.data.preview : (current[nodeId]?.preview ?? null),
        },
      }));
    } else {
      setRunStatus(event.name.replace("run_", ""));
    }
    if (TERMINAL_EVENTS.has(event.name) && runId) {
      void get<Generation>(`/v1/generations/${runId}`).then(setResult);
      void queryClient.invalidateQueries({ queryKey: ["generations"] });
      void queryClient.invalidateQueries({ queryKey: ["wallet"] });
    }
  });

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError(null);
    setResult(null);
    setNodes({});
    setRunStatus("queued");
    try {
      const created = await post<Generation>("/v1/generations", {
        generation_type: hasSource ? "image" : type,
        prompt: String(form.get("prompt") ?? ""),
        ...(modelId ? { model_name: modelId } : {}),
        ...(hasSource ? { mode: form.get("mode") } : { settings }),
        ...(sourceId ? { source_generation_id: sourceId } : reference ? { file_id: reference.id } : {}),
      });
      setRunId(created.id);
    } catch (exc) {
      setRunStatus(null);
      setError(exc instanceof ApiError ? `${exc.message} (${exc.code})` : String(exc));
    }
  }

  return (
    <section aria-labelledby="generate-title">
      <h1 id="generate-title">Generate</h1>
      <form className="generate" onSubmit={(e) => void submit(e)}>
        {hasSource && (
          <fieldset className="source">
            <legend>Source image</legend>
            {sourceId && source.data && typeof source.data.outputs[0] === "string" && (
              <img className="preview" src={source.data.outputs[0]} alt={`source: ${source.data.prompt}`} />
            )}
            {!sourceId && reference && (
              <img
                className="preview"
                src={reference.thumbnail_url ?? reference.url}
                alt={`reference: ${reference.filename ?? reference.id}`}
                data-file-id={reference.id}
              />
            )}
            {source.error && <p role="alert">Could not load the source: {source.error.message}</p>}
            <label htmlFor="generate-mode">Mode</label>
            <select id="generate-mode" name="mode" defaultValue="style">
                {(catalogue.data?.image_modes ?? ["style"]).map((mode) => (
                  <option key={mode} value={mode}>
                    {mode.replace("_", " ")}
                  </option>
                ))}
            </select>
            <button
              type="button"
              onClick={() => {
                setParams({});
                setReference(null);
              }}
            >
              Remove source
            </button>
          </fieldset>
        )}
        {!hasSource && <ReferenceDrop onUploaded={setReference} />}
        <fieldset className="types" disabled={hasSource}>
          <legend>Type</legend>
          {TYPES.map((t) => (
            <label key={t}>
              <input
                type="radio"
                name="type"
                value={t}
                checked={type === t}
                onChange={() => {
                  setType(t);
                  setModelId("");
                  setSettings({});
                }}
              />
              {t}
            </label>
          ))}
        </fieldset>
        <label htmlFor="generate-model">Model</label>
        <select
            id="generate-model"
            value={modelId}
            onChange={(e) => {
              setModelId(e.target.value);
              setSettings({});
            }}
          >
            <option value="">Default for {type}</option>
            {choices.map((m) => (
              <option key={m.id} value={m.id}>
                {m.id} · {m.cost} credits{m.sandbox ? " · sandbox" : ""}
              </option>
            ))}
        </select>
        {models.error && <p role="alert">Could not load models: {models.error.message}</p>}
        <label htmlFor="generate-prompt">Prompt</label>
        <textarea id="generate-prompt" name="prompt" rows={3} required={type !== "music" && !hasSource} />
        {!hasSource && <SettingsForm schema={settingsSchema} values={settings} onChange={setSettings} />}
        <button type="submit">Generate</button>
        {error && <p role="alert">{error}</p>}
      </form>
      {runId && (
        <section className="progress" aria-live="polite" aria-label="Progress">
          <p>
            Run <code>{runId}</code>: <span data-testid="run-status">{runStatus}</span>{" "}
            <Link to={`/run/${runId}`}>Run details</Link>
          </p>
          <ul>
            {Object.entries(nodes).map(([id, node]) => (
              <li key={id}>
                <code>{id}</code> {node.type}: {node.status}
                {node.progress !== null && node.status === "progress" && (
                  <progress value={node.progress} max={1} aria-label={`${id} progress`} />
                )}
                {node.preview && <img className="preview" src={node.preview} alt={`${id} preview`} />}
              </li>
            ))}
          </ul>
        </section>
      )}
      {result && (
        <section className="result" aria-label="Result">
          {result.error && <p role="alert">{result.error.message}</p>}
          {result.outputs.map((value, index) => (
            <figure key={index}>
              <OutputView type={result.output_type} value={value} label={result.prompt || result.generation_type} />
              {typeof value === "string" && result.output_type !== "text" && (
                <figcaption className="actions">
                  <a href={value} download>
                    Download
                  </a>
                  <button type="button" onClick={() => void navigator.clipboard?.writeText(value)}>
                    Copy link
                  </button>
                  {(result.output_type === "image" || result.output_type === "images") && (
                    <Link to={`/generate?source=${result.id}`}>Use as input</Link>
                  )}
                </figcaption>
              )}
            </figure>
          ))}
        </section>
      )}
    </section>
  );
}
