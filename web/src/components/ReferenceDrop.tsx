import { type DragEvent, useEffect, useState } from "react";
import { ApiError, type StoredFile, upload } from "../api";

/** The first image among dropped or pasted items. */
function firstImage(items: FileList | null | undefined): File | null {
  return Array.from(items ?? []).find((file) => file.type.startsWith("image/")) ?? null;
}

/** A reference image by drag and drop, paste (anywhere on the page) or a file picker; uploaded with
 * POST /v1/files, so the generation names it by ``file_id`` like any API client would. */
export function ReferenceDrop({ onUploaded }: { onUploaded: (file: StoredFile) => void }) {
  const [over, setOver] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function send(file: File | null) {
    if (!file) {
      setError("Drop an image file.");
      return;
    }
    setError(null);
    setBusy(true);
    try {
      onUploaded(await upload<StoredFile>("/v1/files", file, file.name || "pasted.png"));
    } catch (exc) {
      setError(exc instanceof ApiError ? `${exc.message} (${exc.code})` : String(exc));
    } finally {
      setBusy(false);
    }
  }

  useEffect(() => {
    function onPaste(event: globalThis.ClipboardEvent) {
      const file = firstImage(event.clipboardData?.files);
      if (file) {
        event.preventDefault();
        void send(file);
      }
    }
    window.addEventListener("paste", onPaste);
    return () => window.removeEventListener("paste", onPaste);
  });

  return (
    <div
      className={over ? "dropzone over" : "dropzone"}
      data-testid="reference-drop"
      onDragOver={(e: DragEvent) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e: DragEvent) => {
        e.preventDefault();
        setOver(false);
        void send(firstImage(e.dataTransfer.files));
      }}
    >
      <label>
        Reference image: drop, paste or choose
        <input type="file" accept="image/*" onChange={(e) => void send(firstImage(e.target.files))} disabled={busy} />
      </label>
      {busy && <span role="status">Uploading…</span>}
      {error && <p role="alert">{error}</p>}
    </div>
  );
}
