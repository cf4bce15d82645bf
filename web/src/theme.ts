// A manual light/dark choice over the system's. Kept in a plain cookie (no token, nothing secret):
// it survives sign-out and new tabs, and the script reads it before the first paint of the shell.

export type Theme = "system" | "light" | "dark";
const COOKIE = "pixelmill_theme";
const ORDER: Theme[] = ["system", "light", "dark"];

export function storedTheme(): Theme {
  const match = document.cookie.split("; ").find((part) => part.startsWith(COOKIE + "="));
  const value = match?.slice(COOKIE.length + 1);
  return value === "light" || value === "dark" ? value : "system";
}

export function applyTheme(theme: Theme): void {
  if (theme === "system") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

/** Store and apply the next theme in system → light → dark order; returns it. */
export function cycleTheme(): Theme {
  const next = ORDER[(ORDER.indexOf(storedTheme()) + 1) % ORDER.length];
  const maxAge = next === "system" ? 0 : 60 * 60 * 24 * 365;
  document.cookie = `${COOKIE}=${next}; path=/; max-age=${maxAge}; SameSite=Lax`;
  applyTheme(next);
  return next;
}

applyTheme(storedTheme());
