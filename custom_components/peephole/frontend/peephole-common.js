// Peephole: what the Doorbell panel and the dashboard card share.
//
// Strings come from the integration's translations (strings.json, category
// "ui"), loaded through Home Assistant's frontend/get_translations in the
// user's language, English where a string is not translated. Styles use Home
// Assistant's design tokens (CSS variables), so the user's theme, light or dark,
// applies. Dialogs are native <dialog> elements opened with showModal(): the
// rest of the page is inert while one is open (focus stays in it) and Escape
// closes it.
//
// No picture goes over the websocket: thumbnails, clips and exports are signed
// paths of Peephole's authenticated HTTP views.

import qrcode from "./vendor/qrcode-generator/qrcode.mjs";

const translations = new Map(); // language -> Promise of {key: text}

// Load the "ui" strings of Peephole in ``hass.language`` (once per language).
export function loadStrings(hass) {
  const language = hass.language || "en";
  if (!translations.has(language)) {
    translations.set(
      language,
      hass
        .callWS({ type: "frontend/get_translations", language, category: "ui", integration: "peephole" })
        .then((answer) => answer.resources || {})
        .catch(() => ({})),
    );
  }
  return translations.get(language);
}

// A localize function over loaded strings: t("key", {name: "x"}).
export function localizer(strings) {
  return (key, placeholders = {}) => {
    const text = strings[`component.peephole.ui.${key}`];
    if (text === undefined) {
      return key;
    }
    return text.replace(/\{(\w+)\}/g, (all, name) => (name in placeholders ? String(placeholders[name]) : all));
  };
}

// The message of an error answer (translated by Peephole in ``language``).
export function errorText(err) {
  if (err && typeof err === "object" && err.message) {
    return err.message;
  }
  return String(err);
}

export function timeOf(hass, iso, withSeconds = false) {
  const options = { hour: "2-digit", minute: "2-digit" };
  if (withSeconds) options.second = "2-digit";
  const zone = hass.config?.time_zone;
  try {
    return new Intl.DateTimeFormat(hass.language || "en", { ...options, timeZone: zone }).format(new Date(iso));
  } catch (_err) {
    return new Date(iso).toLocaleTimeString();
  }
}

export function dateTimeOf(hass, iso) {
  const zone = hass.config?.time_zone;
  const options = { dateStyle: "medium", timeStyle: "short" };
  try {
    return new Intl.DateTimeFormat(hass.language || "en", { ...options, timeZone: zone }).format(new Date(iso));
  } catch (_err) {
    return new Date(iso).toLocaleString();
  }
}

// "5 minutes ago" / "in 3 hours", in the user's language.
export function relativeTime(hass, iso, now = Date.now()) {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const format = new Intl.RelativeTimeFormat(hass.language || "en", { numeric: "auto" });
  const abs = Math.abs(seconds);
  if (abs < 60) return format.format(seconds, "second");
  if (abs < 3600) return format.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return format.format(Math.round(seconds / 3600), "hour");
  return format.format(Math.round(seconds / 86400), "day");
}

// Ask Home Assistant for a signed path (for <video> and downloads, which cannot
// send the Authorization header).
export async function signedPath(hass, path, seconds = 3600) {
  const answer = await hass.callWS({ type: "auth/sign_path", path, expires: seconds });
  return answer.path;
}

export function clipUrl(entryId, clipId) {
  return `/api/peephole/clips/${entryId}/${clipId}.mp4`;
}

// Create an element: h("button", {class: "x", onclick: fn}, "text", child).
export function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (value === true) {
      node.setAttribute(key, "");
    } else {
      node.setAttribute(key, String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A decorative Material Design icon, as Home Assistant draws them.
export function icon(name) {
  return h("ha-icon", { icon: name, "aria-hidden": "true" });
}

// Draw ``text`` as a QR code (an SVG, drawn here: no online service sees it).
export function qrSvg(text, label) {
  const code = qrcode(0, "M");
  code.addData(text);
  code.make();
  const count = code.getModuleCount();
  const quiet = 4;
  const size = count + quiet * 2;
  let path = "";
  for (let row = 0; row < count; row += 1) {
    for (let col = 0; col < count; col += 1) {
      if (code.isDark(row, col)) path += `M${col + quiet} ${row + quiet}h1v1h-1z`;
    }
  }
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  svg.setAttribute("shape-rendering", "crispEdges");
  svg.classList.add("qr");
  const background = document.createElementNS(ns, "rect");
  background.setAttribute("width", String(size));
  background.setAttribute("height", String(size));
  background.setAttribute("fill", "#fff");
  const modules = document.createElementNS(ns, "path");
  modules.setAttribute("d", path);
  modules.setAttribute("fill", "#000");
  svg.append(background, modules);
  return svg;
}

// Open a modal dialog (a native <dialog>: focus stays in it, Escape closes it).
// ``build(close)`` returns its content; resolves with what close() was given.
export function openDialog(root, { title, build, className = "" }) {
  return new Promise((resolve) => {
    const heading = h("h2", { id: `dialog-title-${Date.now()}` }, title);
    const dialog = h("dialog", { class: `peephole-dialog ${className}`, "aria-labelledby": heading.id });
    let result;
    const close = (value) => {
      result = value;
      dialog.close();
    };
    dialog.append(heading, build(close));
    // Tab and Shift+Tab go round the dialog's controls (never out of it).
    dialog.addEventListener("keydown", (event) => {
      if (event.key !== "Tab") return;
      const controls = [...dialog.querySelectorAll("button, a[href], input, select, textarea, [tabindex]")]
        .filter((el) => !el.disabled && !el.hidden && el.tabIndex >= 0 && el.getClientRects().length);
      if (!controls.length) return;
      const active = dialog.getRootNode().activeElement;
      const index = controls.indexOf(active);
      const next = event.shiftKey
        ? controls[index <= 0 ? controls.length - 1 : index - 1]
        : controls[index < 0 || index === controls.length - 1 ? 0 : index + 1];
      event.preventDefault();
      next.focus();
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(result);
    });
    root.append(dialog);
    dialog.showModal();
  });
}

// Ask a yes/no question; resolves true when confirmed.
export function confirmDialog(root, t, { title, text, confirm, danger = false }) {
  return openDialog(root, {
    title,
    build: (close) => {
      const no = h("button", { class: "button", onclick: () => close(false) }, t("cancel"));
      const yes = h("button", { class: `button ${danger ? "danger" : "primary"}`, onclick: () => close(true) }, confirm);
      return h("div", {}, h("p", {}, text), h("div", { class: "dialog-actions" }, no, yes));
    },
  });
}

// Styles shared by the panel, the card and their dialogs (Home Assistant tokens).
export const SHARED_STYLE = `
  .button {
    font: inherit; font-weight: 500; font-size: 14px;
    display: inline-flex; align-items: center; gap: 6px;
    min-height: 36px; padding: 0 14px; border-radius: 18px; cursor: pointer;
    border: 1px solid var(--divider-color, rgba(0, 0, 0, 0.2));
    background: transparent; color: var(--primary-text-color, #212121);
  }
  .button:hover { background: rgba(var(--rgb-primary-text-color, 33, 33, 33), 0.06); }
  .button:focus-visible, .tab:focus-visible, .thumb:focus-visible, select:focus-visible,
  input:focus-visible, a:focus-visible, summary:focus-visible {
    outline: 2px solid var(--primary-color, #03a9f4); outline-offset: 2px;
  }
  /* Tinted, with the theme's text colour: readable on any theme's primary colour. */
  .button.primary { background: rgba(var(--rgb-primary-color, 3, 169, 244), 0.2);
    border: 2px solid var(--primary-color, #03a9f4); color: var(--primary-text-color, #212121); }
  .button.danger { background: rgba(var(--rgb-error-color, 219, 68, 55), 0.14);
    border: 2px solid var(--error-color, #db4437); color: var(--primary-text-color, #212121); }
  .button[aria-pressed="true"] { background: rgba(var(--rgb-primary-color, 3, 169, 244), 0.16);
    border-color: var(--primary-color, #03a9f4); }
  .button:disabled { opacity: 0.5; cursor: default; }
  .button ha-icon { --mdc-icon-size: 18px; }
  select, input[type="date"], input[type="number"], input[type="text"] {
    font: inherit; min-height: 36px; box-sizing: border-box; padding: 4px 8px; border-radius: 8px;
    color: var(--primary-text-color, #212121);
    background: var(--card-background-color, var(--ha-card-background, #fff));
    border: 1px solid var(--divider-color, rgba(0, 0, 0, 0.3));
    color-scheme: light dark;
  }
  .muted { color: var(--secondary-text-color, #5f6368); }
  .chip { display: inline-flex; align-items: center; gap: 4px; font-size: 12px; line-height: 20px;
    padding: 0 8px; border-radius: 10px; white-space: nowrap;
    background: rgba(var(--rgb-primary-text-color, 33, 33, 33), 0.08); color: var(--primary-text-color, #212121); }
  .chip.ring { background: rgba(var(--rgb-primary-color, 3, 169, 244), 0.18); }
  .chip.kept { background: rgba(var(--rgb-warning-color, 255, 166, 0), 0.25); }
  .chip.shared { background: rgba(var(--rgb-success-color, 67, 160, 71), 0.2); }
  .chip.ended { text-decoration: line-through; }
  .message { min-height: 20px; font-size: 14px; margin: 8px 0; }
  .message.error { color: var(--error-color, #db4437); }
  dialog.peephole-dialog {
    border: none; border-radius: var(--ha-dialog-border-radius, 24px); padding: 24px;
    max-width: min(560px, calc(100vw - 32px)); width: 100%; box-sizing: border-box;
    background: var(--mdc-theme-surface, var(--card-background-color, #fff));
    color: var(--primary-text-color, #212121);
    box-shadow: 0 11px 15px -7px rgba(0, 0, 0, 0.2), 0 24px 38px 3px rgba(0, 0, 0, 0.14);
  }
  dialog.peephole-dialog::backdrop { background: rgba(0, 0, 0, 0.5); }
  dialog.peephole-dialog h2 { margin: 0 0 16px; font-size: 22px; font-weight: 400; }
  .dialog-actions { display: flex; flex-wrap: wrap; justify-content: flex-end; gap: 8px; margin-top: 16px; }
  .field { display: flex; flex-direction: column; gap: 4px; margin: 12px 0; }
  .field label, .field .label { font-size: 14px; font-weight: 500; }
  .hint { font-size: 13px; color: var(--secondary-text-color, #5f6368); margin: 2px 0 0; }
  svg.qr { width: 200px; height: 200px; display: block; margin: 8px auto; border-radius: 8px; }
  .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;
