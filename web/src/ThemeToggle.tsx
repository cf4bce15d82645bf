import { useState } from "react";
import { cycleTheme, storedTheme } from "./theme";

const LABEL = { system: "Theme: system", light: "Theme: light", dark: "Theme: dark" } as const;

/** Cycles system → light → dark; the button's label says which is in effect. */
export function ThemeToggle() {
  const [theme, setTheme] = useState(storedTheme);
  return (
    <button type="button" className="theme-toggle" onClick={() => setTheme(cycleTheme())} aria-live="polite">
      {LABEL[theme]}
    </button>
  );
}
