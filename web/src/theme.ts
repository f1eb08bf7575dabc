// The colour theme: "system" (follows prefers-color-scheme), "light" or "dark", kept in the browser; applied as
// data-theme="light|dark" on <html>, which the CSS reads.
export type ThemeChoice = "system" | "light" | "dark";
const KEY = "runyard.theme";

export function themeChoice(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY);
    return v === "light" || v === "dark" ? v : "system";
  } catch {
    return "system";
  }
}

const systemDark = () => typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches;

export function applyTheme(choice: ThemeChoice = themeChoice()): void {
  const dark = choice === "dark" || (choice === "system" && systemDark());
  document.documentElement.setAttribute("data-theme", dark ? "dark" : "light");
  document.documentElement.setAttribute("data-theme-choice", choice);
}

export function setThemeChoice(choice: ThemeChoice): void {
  try {
    if (choice === "system") localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, choice);
  } catch {
    // storage off: the choice lasts as long as the page
  }
  applyTheme(choice);
}

/** Apply the theme now, and again whenever the system's setting changes. */
export function startTheme(): void {
  applyTheme();
  if (typeof matchMedia === "function") matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => applyTheme());
}
