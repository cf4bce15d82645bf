/** One output of a generation, shown the way its type is played: picture, player or text. */
export function OutputView({ type, value, label }: { type: string | null; value: unknown; label: string }) {
  if (typeof value !== "string") return <pre className="output-text">{JSON.stringify(value, null, 2)}</pre>;
  switch (type) {
    case "image":
    case "images":
      return <img className="output-image" src={value} alt={label} />;
    case "video":
      return <video className="output-video" src={value} controls aria-label={label} />;
    case "audio":
      return <audio src={value} controls aria-label={label} />;
    default:
      return <pre className="output-text">{value}</pre>;
  }
}

export function isMedia(type: string | null): boolean {
  return type === "image" || type === "images" || type === "video" || type === "audio";
}
