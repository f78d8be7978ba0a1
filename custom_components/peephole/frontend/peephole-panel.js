// Peephole: the Doorbell panel (administrators only).
//
// Views, one per address under the panel's path:
//   /peephole            the timeline: one day's clips, newest first, with masked
//                        thumbnails, played in place; keep, delete, export, share
//   /peephole/shares     links per recipient: views used, time left, revoke, audit
//   /peephole/audit      the whole audit log, filterable: every link's openings
//                        and refusals, and the requests for links that do not
//                        exist (only counted, per client and minute)
//   /peephole/zones      the privacy zone editor (peephole-zone-editor.js)
// Lists and actions go over Peephole's admin-only websocket commands; every
// picture, clip and export is a signed path of an authenticated HTTP view (none
// travels over the websocket, whose messages Home Assistant logs at debug level).

import {
  SHARED_STYLE, clipUrl, confirmDialog, dateTimeOf, errorText, h, icon, loadStrings, localizer,
  openDialog, relativeTime, signedPath, timeOf,
} from "./peephole-common.js";
import { SHARE_STYLE, shareClips } from "./peephole-share-dialog.js";
import "./peephole-zone-editor.js";

const MENU_ICON = "M3,6H21V8H3V6M3,11H21V13H3V11M3,16H21V18H3V16Z";
const VIEWS = ["timeline", "shares", "audit", "zones"];
const TRIGGERS = ["ring", "motion", "action", "unknown"];
const PAGE = 30;
const LIVE_EVENTS = ["peephole_clip_saved", "peephole_share_accessed"];

const STYLE = `
  :host {
    display: block; min-height: 100%;
    background: var(--primary-background-color, #fafafa);
    color: var(--primary-text-color, #212121);
    font-family: var(--paper-font-body1_-_font-family, Roboto, "Noto Sans", sans-serif);
    -webkit-font-smoothing: antialiased;
  }
  /* The theme's surface and text colours (readable in light and dark themes). */
  header {
    background: var(--card-background-color, var(--ha-card-background, #fff));
    color: var(--primary-text-color, #212121);
    border-bottom: 1px solid var(--divider-color, rgba(0, 0, 0, 0.12));
  }
  .toolbar { display: flex; align-items: center; gap: 8px; height: var(--header-height, 56px); padding: 0 12px; }
  .toolbar h1 { font-size: 20px; font-weight: 400; margin: 0 0 0 8px; }
  .menu { display: none; background: none; border: 0; color: inherit; padding: 8px; cursor: pointer; border-radius: 50%; }
  :host([narrow]) .menu { display: inline-flex; }
  .menu svg { width: 24px; height: 24px; fill: currentColor; }
  .menu:focus-visible { outline: 2px solid currentColor; }
  [role="tablist"] { display: flex; overflow-x: auto; padding: 0 8px; scrollbar-width: none; }
  .tab {
    font: inherit; font-size: 14px; font-weight: 500; text-transform: uppercase; letter-spacing: 0.06em;
    background: none; border: 0; color: inherit; opacity: 0.85; padding: 12px 16px; cursor: pointer;
    border-bottom: 2px solid transparent; white-space: nowrap;
  }
  .tab { opacity: 1; color: var(--secondary-text-color, #5f6368); }
  .tab[aria-selected="true"] { color: var(--primary-text-color, #212121); border-bottom-color: var(--primary-color, #03a9f4); }
  .tab:focus-visible { outline-color: currentColor; outline-offset: -4px; }
  #view { max-width: 1100px; margin: 0 auto; padding: 16px; box-sizing: border-box; }
  :host([narrow]) #view { padding: 8px; }
  #view.zones { max-width: none; padding: 0; }
  #view:focus { outline: none; }
  .card {
    background: var(--card-background-color, var(--ha-card-background, #fff));
    border-radius: var(--ha-card-border-radius, 12px);
    border: 1px solid var(--divider-color, rgba(0, 0, 0, 0.12));
    box-shadow: var(--ha-card-box-shadow, none);
    padding: 12px 16px; margin-bottom: 12px;
  }
  .filters { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: flex-end; }
  .filters .field { margin: 0; }
  .daynav { display: flex; gap: 4px; align-items: center; }
  .daynav .button { padding: 0 10px; }
  .status-row { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; justify-content: space-between; }
  .summary { margin: 4px 0 0; }
  ul.clips { list-style: none; margin: 0; padding: 0; }
  li.clip {
    display: grid; grid-template-columns: 160px minmax(0, 1fr); gap: 12px; align-items: start;
    padding: 12px 0; border-top: 1px solid var(--divider-color, rgba(0, 0, 0, 0.12));
  }
  li.clip:first-child { border-top: 0; }
  .thumb {
    display: block; width: 160px; aspect-ratio: 4 / 3; border-radius: 8px; overflow: hidden; padding: 0;
    border: 0; cursor: pointer; background: var(--secondary-background-color, #e0e0e0); position: relative;
  }
  .thumb img { width: 100%; height: 100%; object-fit: cover; display: block; }
  .thumb .play { position: absolute; inset: auto 6px 6px auto; background: rgba(0, 0, 0, 0.6); color: #fff;
    border-radius: 12px; padding: 0 8px; font-size: 12px; line-height: 22px; }
  .clip h3 { margin: 0; font-size: 16px; font-weight: 500; display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
  .clip .meta { display: flex; flex-wrap: wrap; gap: 6px; margin: 6px 0; align-items: center; font-size: 14px; }
  .clip .actions { display: flex; flex-wrap: wrap; gap: 6px; }
  .player { grid-column: 1 / -1; }
  .player video { width: 100%; max-height: 70vh; border-radius: 8px; background: #000; display: block; }
  .empty { padding: 24px 0; text-align: center; }
  .more { display: flex; justify-content: center; padding: 8px 0; }
  .more:empty { padding: 0; }
  /* An empty live region stays in place (announced when it speaks) but takes no room. */
  .message:empty { min-height: 0; margin: 0; }
  table { width: 100%; border-collapse: collapse; font-size: 14px; }
  th, td { text-align: left; padding: 8px 6px; border-top: 1px solid var(--divider-color, rgba(0, 0, 0, 0.12)); vertical-align: top; }
  th { font-weight: 500; color: var(--secondary-text-color, #5f6368); border-top: 0; }
  .card h2 { font-size: 18px; font-weight: 500; margin: 4px 0 8px; }
  .share { border-top: 1px solid var(--divider-color, rgba(0, 0, 0, 0.12)); padding: 10px 0; }
  .share:first-of-type { border-top: 0; }
  .share .line { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; justify-content: space-between; }
  .share details { margin-top: 6px; }
  .share summary { cursor: pointer; color: var(--primary-text-color, #212121); font-size: 14px; text-decoration: underline; }
  .outcome-allowed, .outcome-refused { font-weight: 500; }
  .table-wrap { overflow-x: auto; }
  a.link { color: var(--primary-text-color, #212121); text-decoration: underline; }
  @media (max-width: 600px) {
    li.clip { grid-template-columns: 112px minmax(0, 1fr); gap: 8px; }
    .thumb { width: 112px; }
    .clip .actions .button { padding: 0 10px; }
    .clip .actions .button .label { display: none; }
  }
  ${SHARED_STYLE}
  ${SHARE_STYLE}
`;

class PeepholePanel extends HTMLElement {
  constructor() {
    super();
    this._hass = null;
    this._t = (key) => key;
    this._ready = false;
    this._view = "timeline";
    this._doorbells = [];
    this._filters = { day: null, entry: "", trigger: "" };
    this._clips = [];
    this._cursor = null;
    this._days = [];
    this._playing = null; // clip id playing in place
    this._unsubscribe = [];
    this._loading = 0;
    this.attachShadow({ mode: "open" });
  }

  set hass(hass) {
    const first = !this._hass;
    this._hass = hass;
    if (this._editor) this._editor.hass = hass;
    if (first) this._start();
  }

  get hass() {
    return this._hass;
  }

  set narrow(narrow) {
    this.toggleAttribute("narrow", Boolean(narrow));
    if (this._editor) this._editor.narrow = narrow;
  }

  set panel(_panel) {}

  set route(route) {
    const view = (route?.path || "").split("/")[1] || "timeline";
    const next = VIEWS.includes(view) ? view : "timeline";
    if (next !== this._view || !this._rendered) {
      this._view = next;
      if (this._ready) this._renderView();
    }
  }

  connectedCallback() {
    if (this._ready) this._subscribe();
  }

  disconnectedCallback() {
    this._unsubscribe.forEach((unsub) => unsub.then((fn) => fn()).catch(() => {}));
    this._unsubscribe = [];
  }

  async _start() {
    this._t = localizer(await loadStrings(this._hass));
    const t = this._t;
    this.shadowRoot.replaceChildren(
      h("style", {}, STYLE),
      h("header", {},
        h("div", { class: "toolbar" },
          this._menuButton(),
          h("h1", {}, t("panel_title"))),
        h("nav", { role: "tablist", "aria-label": t("panel_title"), onkeydown: (e) => this._tabKeys(e) },
          VIEWS.map((view) => h("button", {
            class: "tab", role: "tab", id: `tab-${view}`, "aria-controls": "view", dataset: { view },
            onclick: () => this._navigate(view),
          }, t(`tab_${view}`))))),
      h("main", {}, h("div", { id: "view", role: "tabpanel", tabindex: "-1" })),
    );
    try {
      const answer = await this._ws({ type: "peephole/panel/doorbells" });
      this._doorbells = answer.doorbells;
      this._today = answer.today;
      this._optionsUrl = answer.options_url;
      this._limits = answer.limits;
    } catch (err) {
      this._fatal = errorText(err);
    }
    this._filters.day = this._today || new Date().toISOString().slice(0, 10);
    this._ready = true;
    if (this.isConnected) this._subscribe();
    this._renderView();
  }

  _menuButton() {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", MENU_ICON);
    svg.append(path);
    return h("button", {
      class: "menu", "aria-label": this._t("menu"),
      onclick: () => this.dispatchEvent(new Event("hass-toggle-menu", { bubbles: true, composed: true })),
    }, svg);
  }

  _subscribe() {
    if (this._unsubscribe.length || !this._hass?.connection) return;
    for (const type of LIVE_EVENTS) {
      this._unsubscribe.push(
        this._hass.connection.subscribeEvents((event) => this._onEvent(event), type),
      );
    }
  }

  _onEvent(event) {
    if (event.event_type === "peephole_clip_saved" && this._view === "timeline" && this._filters.day === this._today) {
      this._refreshNewest();
    } else if (event.event_type === "peephole_share_accessed" && (this._view === "shares" || this._view === "audit")) {
      this._renderView();
    }
  }

  _ws(message) {
    return this._hass.callWS({ ...message, language: this._hass.language });
  }

  _navigate(view) {
    const path = view === "timeline" ? "/peephole" : `/peephole/${view}`;
    window.history.pushState(null, "", path);
    window.dispatchEvent(new CustomEvent("location-changed", { detail: { replace: false } }));
    this._view = view;
    this._renderView();
  }

  _tabKeys(event) {
    const index = VIEWS.indexOf(this._view);
    let next = null;
    if (event.key === "ArrowRight") next = VIEWS[(index + 1) % VIEWS.length];
    if (event.key === "ArrowLeft") next = VIEWS[(index + VIEWS.length - 1) % VIEWS.length];
    if (event.key === "Home") next = VIEWS[0];
    if (event.key === "End") next = VIEWS[VIEWS.length - 1];
    if (next) {
      event.preventDefault();
      this._navigate(next);
      this.shadowRoot.getElementById(`tab-${next}`).focus();
    }
  }

  _say(text, kind = "") {
    const message = this.shadowRoot.getElementById("message");
    if (message) {
      message.textContent = text || "";
      message.className = `message ${kind}`;
    }
  }

  _renderView() {
    this._rendered = true;
    const root = this.shadowRoot;
    for (const tab of root.querySelectorAll(".tab")) {
      const selected = tab.dataset.view === this._view;
      tab.setAttribute("aria-selected", selected ? "true" : "false");
      tab.tabIndex = selected ? 0 : -1;
    }
    const main = root.getElementById("view");
    main.setAttribute("aria-labelledby", `tab-${this._view}`);
    main.className = this._view === "zones" ? "zones" : "";
    if (this._fatal) {
      main.replaceChildren(h("p", { class: "message error", role: "alert" }, this._fatal));
      return;
    }
    if (this._view === "zones") {
      if (!this._editor) {
        this._editor = document.createElement("peephole-zone-editor");
        this._editor.setAttribute("embedded", "");
      }
      this._editor.hass = this._hass;
      this._editor.narrow = this.hasAttribute("narrow");
      main.replaceChildren(this._editor);
      return;
    }
    if (this._view === "shares") {
      this._renderShares(main);
    } else if (this._view === "audit") {
      this._renderAudit(main);
    } else {
      this._renderTimeline(main);
    }
  }

  // --- timeline ---------------------------------------------------------------

  _doorbell(entryId) {
    return this._doorbells.find((d) => d.entry_id === entryId);
  }

  _renderTimeline(main) {
    const t = this._t;
    const recording = this._doorbells.filter((d) => d.recording);
    const day = h("input", { type: "date", id: "day", value: this._filters.day, max: this._today });
    day.addEventListener("change", () => {
      if (day.value) this._setDay(day.value);
    });
    const entry = h("select", { id: "doorbell" },
      h("option", { value: "" }, t("all_doorbells")),
      this._doorbells.map((d) => h("option", { value: d.entry_id, selected: d.entry_id === this._filters.entry }, d.title)));
    entry.addEventListener("change", () => {
      this._filters.entry = entry.value;
      this._loadDay();
    });
    const trigger = h("select", { id: "trigger" },
      h("option", { value: "" }, t("all_triggers")),
      TRIGGERS.map((name) => h("option", { value: name, selected: name === this._filters.trigger }, t(`trigger_${name}`))));
    trigger.addEventListener("change", () => {
      this._filters.trigger = trigger.value;
      this._loadDay();
    });
    const notes = this._doorbells
      .filter((d) => !d.recording)
      .map((d) => h("p", { class: "muted" }, d.loaded ? t("recording_off", { name: d.title }) : t("not_loaded", { name: d.title })));
    main.replaceChildren(
      h("section", { class: "card", "aria-label": t("filters") },
        h("div", { class: "filters" },
          h("div", { class: "field" }, h("label", { for: "day" }, t("day")),
            h("div", { class: "daynav" },
              h("button", { class: "button", id: "previous-day", "aria-label": t("previous_day"), onclick: () => this._stepDay(-1) },
                icon("mdi:chevron-left")),
              day,
              h("button", { class: "button", id: "next-day", "aria-label": t("next_day"), onclick: () => this._stepDay(1) },
                icon("mdi:chevron-right")),
              h("button", { class: "button", id: "today", onclick: () => this._setDay(this._today) }, t("today")))),
          this._doorbells.length > 1
            ? h("div", { class: "field" }, h("label", { for: "doorbell" }, t("doorbell")), entry) : null,
          h("div", { class: "field" }, h("label", { for: "trigger" }, t("trigger")), trigger)),
        notes,
        h("div", { class: "status-row" },
          h("p", { class: "summary muted", id: "summary", role: "status" }),
          h("a", { class: "link", href: this._optionsUrl || "/config/integrations/integration/peephole" }, t("manage_recipients")))),
      h("section", { class: "card", "aria-labelledby": "clips-heading" },
        h("h2", { id: "clips-heading", class: "visually-hidden" }, t("clips")),
        h("p", { class: "message", id: "message", role: "alert" }),
        h("ul", { class: "clips", id: "clips" }),
        h("div", { class: "more", id: "more" })),
    );
    if (!recording.length && this._doorbells.length) {
      this._say(t("no_recording"));
    }
    this._loadDay();
  }

  _setDay(day) {
    this._filters.day = day;
    const input = this.shadowRoot.getElementById("day");
    if (input) input.value = day;
    this._loadDay();
  }

  // The previous or next day that has clips (the calendar's when none is known).
  _stepDay(direction) {
    const current = this._filters.day;
    const days = this._days.map((d) => d.day);
    let target = null;
    if (direction < 0) {
      target = days.find((day) => day < current) || null;
    } else {
      target = [...days].reverse().find((day) => day > current) || null;
    }
    if (!target) {
      const date = new Date(`${current}T12:00:00Z`);
      date.setUTCDate(date.getUTCDate() + direction);
      target = date.toISOString().slice(0, 10);
    }
    if (this._today && target > this._today) target = this._today;
    this._setDay(target);
  }

  _query(extra = {}) {
    const query = { type: "peephole/timeline", day: this._filters.day, limit: PAGE, ...extra };
    if (this._filters.entry) query.entry_ids = [this._filters.entry];
    if (this._filters.trigger) query.triggers = [this._filters.trigger];
    return query;
  }

  async _loadDay() {
    const token = (this._loading += 1);
    this._clips = [];
    this._cursor = null;
    this._playing = null;
    this._say("");
    const list = this.shadowRoot.getElementById("clips");
    if (list) list.setAttribute("aria-busy", "true");
    try {
      const filter = {};
      if (this._filters.entry) filter.entry_ids = [this._filters.entry];
      if (this._filters.trigger) filter.triggers = [this._filters.trigger];
      const [page, days] = await Promise.all([
        this._ws(this._query()),
        this._ws({ type: "peephole/timeline/days", ...filter }),
      ]);
      if (token !== this._loading) return;
      this._clips = page.clips;
      this._cursor = page.cursor;
      this._days = days.days;
    } catch (err) {
      if (token === this._loading) this._say(errorText(err), "error");
    }
    if (list) list.removeAttribute("aria-busy");
    this._renderClips();
  }

  async _loadMore() {
    if (!this._cursor) return;
    const token = this._loading;
    try {
      const page = await this._ws(this._query({ cursor: this._cursor }));
      if (token !== this._loading) return;
      const known = new Set(this._clips.map((c) => `${c.entry_id}/${c.id}`));
      this._clips.push(...page.clips.filter((c) => !known.has(`${c.entry_id}/${c.id}`)));
      this._cursor = page.cursor;
    } catch (err) {
      this._say(errorText(err), "error");
    }
    this._renderClips();
    const items = this.shadowRoot.querySelectorAll("li.clip .thumb");
    items[Math.max(0, items.length - 1)]?.focus();
  }

  // A clip was saved: put the newest ones at the top (the pages below stay).
  async _refreshNewest() {
    const token = this._loading;
    try {
      const page = await this._ws(this._query());
      if (token !== this._loading) return;
      const known = new Set(this._clips.map((c) => `${c.entry_id}/${c.id}`));
      const fresh = page.clips.filter((c) => !known.has(`${c.entry_id}/${c.id}`) && (!this._clips.length || c.start >= this._clips[0].start));
      if (fresh.length) {
        const filter = {};
        if (this._filters.entry) filter.entry_ids = [this._filters.entry];
        if (this._filters.trigger) filter.triggers = [this._filters.trigger];
        const days = await this._ws({ type: "peephole/timeline/days", ...filter });
        if (token !== this._loading) return;
        this._days = days.days;
        this._clips.unshift(...fresh);
        this._renderClips();
      }
    } catch (_err) {
      // The next refresh or a reload shows it.
    }
  }

  _renderClips() {
    const t = this._t;
    const list = this.shadowRoot.getElementById("clips");
    if (!list) return;
    const count = this._days.find((d) => d.day === this._filters.day)?.count || 0;
    const summary = this.shadowRoot.getElementById("summary");
    if (summary) summary.textContent = t("day_summary", { count, day: this._filters.day });
    if (!this._clips.length) {
      list.replaceChildren(h("li", { class: "empty muted" }, t("no_clips")));
    } else {
      list.replaceChildren(...this._clips.map((clip) => this._clipRow(clip)));
    }
    const more = this.shadowRoot.getElementById("more");
    more.replaceChildren(this._cursor
      ? h("button", { class: "button", id: "load-more", onclick: () => this._loadMore() }, t("load_more"))
      : []);
  }

  _clipRow(clip) {
    const t = this._t;
    const hass = this._hass;
    const time = timeOf(hass, clip.start, true);
    const doorbell = this._doorbell(clip.entry_id);
    const what = t(`trigger_${TRIGGERS.includes(clip.trigger) ? clip.trigger : "unknown"}`);
    const label = t("clip_label", { trigger: what, time, doorbell: doorbell?.title || "" });
    const thumb = h("button", {
      class: "thumb", "aria-label": t("play_clip", { clip: label }), "aria-expanded": this._playing === clip.id ? "true" : "false",
      onclick: () => this._togglePlay(clip),
    },
    clip.thumbnail ? h("img", { src: clip.thumbnail, alt: "", loading: "lazy", decoding: "async" }) : null,
    h("span", { class: "play", "aria-hidden": "true" }, "▶"));
    const shares = clip.shares.map((share) => h("span", {
      class: `chip shared ${share.state === "active" ? "" : "ended"}`,
      title: t(`share_state_${share.state}`),
    }, icon("mdi:share-variant"), t("shared_with", { recipient: share.recipient }),
    share.state === "active" ? null : h("span", { class: "visually-hidden" }, ` (${t(`share_state_${share.state}`)})`)));
    const actions = h("div", { class: "actions" },
      h("button", {
        class: "button", "aria-pressed": clip.keep ? "true" : "false", dataset: { action: "keep" },
        onclick: () => this._keep(clip),
      }, icon(clip.keep ? "mdi:star" : "mdi:star-outline"), h("span", { class: "label" }, t("keep"))),
      h("button", { class: "button", dataset: { action: "share" }, onclick: () => this._share(clip) },
        icon("mdi:share-variant"), h("span", { class: "label" }, t("share"))),
      h("button", { class: "button", dataset: { action: "export" }, onclick: () => this._export(clip) },
        icon("mdi:download"), h("span", { class: "label" }, t("export"))),
      h("button", { class: "button", dataset: { action: "delete" }, onclick: () => this._delete(clip) },
        icon("mdi:delete"), h("span", { class: "label" }, t("delete"))));
    // The buttons' names say which clip they act on (icons only on a phone).
    for (const button of actions.querySelectorAll("button")) {
      button.setAttribute("aria-label", `${button.textContent.trim()}: ${label}`);
    }
    const row = h("li", { class: "clip", dataset: { id: clip.id, entry: clip.entry_id } },
      thumb,
      h("div", {},
        h("h3", {}, h("span", {}, time), h("span", { class: `chip ${clip.trigger}` }, what),
          clip.keep ? h("span", { class: "chip kept" }, icon("mdi:star"), t("kept")) : null,
          clip.incomplete ? h("span", { class: "chip" }, t("incomplete")) : null),
        h("div", { class: "meta muted" },
          this._doorbells.length > 1 && doorbell ? h("span", {}, doorbell.title) : null,
          h("span", {}, t("length", { seconds: Math.round(clip.duration) })),
          shares),
        actions));
    if (this._playing === clip.id) {
      row.append(h("div", { class: "player" }, this._video));
    }
    return row;
  }

  async _togglePlay(clip) {
    if (this._playing === clip.id) {
      this._playing = null;
      this._video?.pause();
      this._video = null;
      this._renderClips();
      return;
    }
    try {
      const src = await signedPath(this._hass, clipUrl(clip.entry_id, clip.id));
      this._video = h("video", {
        controls: true, autoplay: true, muted: true, playsinline: true, preload: "auto", src,
        "aria-label": this._t("video_of", { time: timeOf(this._hass, clip.start, true) }),
      });
      this._video.muted = true;
      this._playing = clip.id;
      this._renderClips();
      this._video.focus();
    } catch (err) {
      this._say(errorText(err), "error");
    }
  }

  _replace(clip, changes) {
    const index = this._clips.findIndex((c) => c.id === clip.id && c.entry_id === clip.entry_id);
    if (index >= 0) this._clips[index] = { ...this._clips[index], ...changes };
  }

  _focusAction(clip, action) {
    const row = this.shadowRoot.querySelector(`li.clip[data-id="${clip.id}"]`);
    row?.querySelector(`[data-action="${action}"]`)?.focus();
  }

  async _keep(clip) {
    try {
      const answer = await this._ws({ type: "peephole/clips/keep", entry_id: clip.entry_id, clip_id: clip.id, keep: !clip.keep });
      this._replace(clip, { keep: answer.keep });
      this._renderClips();
      this._say(answer.keep ? this._t("kept_now") : this._t("unkept_now"));
      this._focusAction(clip, "keep");
    } catch (err) {
      this._say(errorText(err), "error");
    }
  }

  async _delete(clip) {
    const t = this._t;
    const sure = await confirmDialog(this.shadowRoot, t, {
      title: t("confirm_delete_title"),
      text: t("confirm_delete_text", { time: timeOf(this._hass, clip.start, true) }),
      confirm: t("delete"),
      danger: true,
    });
    if (!sure) {
      this._focusAction(clip, "delete");
      return;
    }
    try {
      await this._ws({ type: "peephole/clips/delete", entry_id: clip.entry_id, clip_id: clip.id });
      const index = this._clips.findIndex((c) => c.id === clip.id);
      this._clips = this._clips.filter((c) => c.id !== clip.id);
      if (this._playing === clip.id) this._playing = null;
      const day = this._days.find((d) => d.day === this._filters.day);
      if (day) day.count -= 1;
      this._renderClips();
      this._say(t("deleted_now"));
      const next = this.shadowRoot.querySelectorAll("li.clip .thumb")[Math.min(index, this._clips.length - 1)];
      (next || this.shadowRoot.getElementById("day"))?.focus();
    } catch (err) {
      this._say(errorText(err), "error");
    }
  }

  async _export(clip) {
    const t = this._t;
    this._say(t("exporting"));
    try {
      const answer = await this._ws({ type: "peephole/clips/export", entry_id: clip.entry_id, clip_ids: [clip.id] });
      // The zip comes from the admin-only download view (a signed path), never
      // over the websocket.
      const link = h("a", { href: answer.download, download: answer.file, class: "visually-hidden" }, answer.file);
      this.shadowRoot.append(link);
      link.click();
      link.remove();
      this._say(t("exported", { file: answer.file, sha256: answer.sha256.slice(0, 12) }));
    } catch (err) {
      this._say(errorText(err), "error");
    }
  }

  async _share(clip) {
    const t = this._t;
    const doorbell = this._doorbell(clip.entry_id);
    const what = t(`trigger_${TRIGGERS.includes(clip.trigger) ? clip.trigger : "unknown"}`);
    const share = await shareClips(this.shadowRoot, this._hass, t, {
      entryId: clip.entry_id,
      clipIds: [clip.id],
      describe: t("share_describe", { clip: t("clip_label", { trigger: what, time: timeOf(this._hass, clip.start, true), doorbell: doorbell?.title || "" }) }),
    });
    if (share) {
      this._replace(clip, { shares: [...clip.shares, { share_id: share.share_id, recipient: share.recipient, state: "active" }] });
      this._renderClips();
    }
    this._focusAction(clip, "share");
  }

  // --- shares -----------------------------------------------------------------

  async _renderShares(main) {
    const t = this._t;
    main.replaceChildren(
      h("p", { class: "message", id: "message", role: "alert" }),
      h("div", { id: "shares", "aria-busy": "true" }),
    );
    let shares = [];
    try {
      shares = (await this._ws({ type: "peephole/shares/list" })).shares;
    } catch (err) {
      this._say(errorText(err), "error");
    }
    const container = this.shadowRoot.getElementById("shares");
    if (!container) return;
    container.removeAttribute("aria-busy");
    if (!shares.length) {
      container.replaceChildren(h("section", { class: "card" },
        h("p", {}, t("no_shares")),
        h("a", { class: "link", href: this._optionsUrl }, t("manage_recipients"))));
      return;
    }
    const byRecipient = new Map();
    for (const share of shares) {
      const list = byRecipient.get(share.recipient) || [];
      list.push(share);
      byRecipient.set(share.recipient, list);
    }
    container.replaceChildren(...[...byRecipient].map(([recipient, list]) =>
      h("section", { class: "card recipient", "aria-labelledby": `recipient-${list[0].id}` },
        h("h2", { id: `recipient-${list[0].id}` }, recipient),
        list.map((share) => this._shareRow(share)))));
  }

  _shareRow(share) {
    const t = this._t;
    const hass = this._hass;
    const doorbell = this._doorbell(share.entry_id);
    const active = share.state === "active";
    const ends = share.effective_expires || share.expires;
    const views = share.view_limit ? t("views_of", { used: share.views, limit: share.view_limit }) : t("views_used", { used: share.views });
    const audit = h("details", {
      ontoggle: async (event) => {
        if (!event.target.open || event.target.dataset.loaded) return;
        event.target.dataset.loaded = "1";
        const body = event.target.querySelector(".audit");
        try {
          const answer = await this._ws({ type: "peephole/shares/audit", share_id: share.id, limit: 100 });
          body.replaceChildren(this._auditTable(answer.records, false));
        } catch (err) {
          body.replaceChildren(h("p", { class: "message error" }, errorText(err)));
        }
      },
    }, h("summary", {}, t("share_audit", { count: share.accesses, refused: share.refusals })), h("div", { class: "audit table-wrap" }));
    return h("div", { class: "share", dataset: { share: share.id } },
      h("div", { class: "line" },
        h("div", {},
          h("strong", {}, share.kind === "snapshot" ? t("kind_snapshot") : t("kind_clips", { count: share.resources.length })),
          " ",
          h("span", { class: `chip ${active ? "shared" : "ended"}` }, t(`share_state_${share.state}`)),
          h("div", { class: "muted" },
            [doorbell?.title, share.remote ? t("share_reach_remote_short") : t("share_reach_local_short"),
              views,
              share.forged_requests ? t("forged_requests", { count: share.forged_requests }) : null,
              active ? t("ends_in", { when: relativeTime(hass, ends) }) : t("ended_at", { when: dateTimeOf(hass, share.revoked || ends) })]
              .filter(Boolean).join(" · "))),
        active ? h("button", {
          class: "button danger", dataset: { action: "revoke" },
          "aria-label": t("revoke_label", { recipient: share.recipient, time: dateTimeOf(hass, share.created) }),
          onclick: () => this._revoke(share),
        }, t("revoke")) : null),
      audit);
  }

  async _revoke(share) {
    const t = this._t;
    const sure = await confirmDialog(this.shadowRoot, t, {
      title: t("confirm_revoke_title"), text: t("confirm_revoke_text", { recipient: share.recipient }),
      confirm: t("revoke"), danger: true,
    });
    if (!sure) return;
    try {
      await this._ws({ type: "peephole/shares/revoke", share_id: share.id });
      await this._renderShares(this.shadowRoot.getElementById("view"));
      this._say(t("revoked_now", { recipient: share.recipient }));
      this.shadowRoot.querySelector(`[data-share="${share.id}"] summary`)?.focus();
    } catch (err) {
      this._say(errorText(err), "error");
    }
  }

  _auditTable(records, withShare) {
    const t = this._t;
    if (!records.length) return h("p", { class: "muted" }, t("audit_empty"));
    return h("table", {},
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, t("audit_time")),
        withShare ? h("th", { scope: "col" }, t("audit_recipient")) : null,
        h("th", { scope: "col" }, t("audit_outcome")),
        h("th", { scope: "col" }, t("audit_client")),
        h("th", { scope: "col" }, t("audit_resource")))),
      h("tbody", {}, records.map((record) => h("tr", {},
        h("td", {}, dateTimeOf(this._hass, record.time)),
        withShare ? h("td", {}, record.recipient || t("audit_unknown_link")) : null,
        h("td", { class: `outcome-${record.outcome}` },
          record.outcome === "allowed" ? t("audit_allowed") : t("audit_refused", { reason: t(`reason_${record.reason}`) })),
        h("td", {}, `${record.client || "?"} (${t(`origin_${record.origin}`)})`),
        // (The recipient's page has no file name of its own.)
        h("td", {}, record.resource || t("audit_page"))))));
  }

  // Requests for links that do not exist: only counted, per client and minute.
  _unknownLinks(unknown) {
    const t = this._t;
    const buckets = unknown.by_client_and_minute;
    const total = buckets.reduce((sum, bucket) => sum + bucket.count, 0) + unknown.older_requests;
    const reasons = (bucket) => Object.entries(bucket.reasons)
      .map(([reason, count]) => `${t(`reason_${reason}`)}: ${count}`).join(", ");
    return h("section", { class: "card", id: "unknown-links", "aria-labelledby": "unknown-title" },
      h("h2", { id: "unknown-title" }, t("unknown_links_title", { count: total })),
      h("p", { class: "muted" }, t("unknown_links_text")),
      buckets.length ? h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, t("unknown_minute")),
          h("th", { scope: "col" }, t("audit_client")),
          h("th", { scope: "col" }, t("unknown_count")),
          h("th", { scope: "col" }, t("unknown_reasons")))),
        h("tbody", {}, buckets.map((bucket) => h("tr", {},
          h("td", {}, dateTimeOf(this._hass, bucket.minute)),
          h("td", {}, bucket.client || "?"),
          h("td", {}, String(bucket.count)),
          h("td", {}, reasons(bucket))))))) : h("p", {}, t("unknown_none")),
      unknown.older_requests ? h("p", { class: "muted" }, t("unknown_older", { count: unknown.older_requests })) : null);
  }

  // --- audit ------------------------------------------------------------------

  async _renderAudit(main) {
    const t = this._t;
    const outcome = h("select", { id: "outcome" },
      h("option", { value: "" }, t("audit_all")),
      h("option", { value: "allowed", selected: this._auditOutcome === "allowed" }, t("audit_allowed")),
      h("option", { value: "refused", selected: this._auditOutcome === "refused" }, t("audit_refused_only")));
    outcome.addEventListener("change", () => {
      this._auditOutcome = outcome.value;
      this._renderAudit(main);
    });
    const body = h("div", { class: "table-wrap", id: "audit", "aria-busy": "true" });
    const unknown = h("div", { id: "unknown" });
    main.replaceChildren(
      h("section", { class: "card", "aria-label": t("filters") },
        h("div", { class: "filters" }, h("div", { class: "field" }, h("label", { for: "outcome" }, t("audit_outcome")), outcome))),
      h("section", { class: "card", "aria-labelledby": "links-title" },
        h("h2", { id: "links-title" }, t("audit_links_title")),
        h("p", { class: "message", id: "message", role: "alert" }), body),
      unknown,
    );
    try {
      const query = { type: "peephole/shares/audit", limit: 200 };
      if (this._auditOutcome) query.outcome = this._auditOutcome;
      const answer = await this._ws(query);
      body.replaceChildren(this._auditTable(answer.records, true));
      // Those are all refusals: not under "Allowed".
      if (answer.unknown_links && this._auditOutcome !== "allowed") {
        unknown.replaceChildren(this._unknownLinks(answer.unknown_links));
      }
    } catch (err) {
      this._say(errorText(err), "error");
      body.replaceChildren();
    }
    body.removeAttribute("aria-busy");
  }
}

if (!customElements.get("peephole-panel")) {
  customElements.define("peephole-panel", PeepholePanel);
}

export { openDialog };
