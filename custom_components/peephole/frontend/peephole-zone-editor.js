// Peephole: the privacy zone editor, the Zones view of the Doorbell panel
// (peephole-panel.js embeds it; it works as a panel of its own too).
//
// A plain web component: no build step, no dependency, nothing fetched from
// anywhere but this Home Assistant. It talks to Peephole's admin-only
// websocket commands (peephole/zones/list and save: no pictures) and fetches
// every picture from Peephole's admin-only HTTP views:
// GET /api/peephole/zones/<entry_id>/snapshot and
// POST /api/peephole/zones/<entry_id>/preview (the draft zones as JSON).
//
// The snapshot it shows is the UNMASKED source picture, so that the owner can
// see what to cover; the preview is masked only by the DRAFT zones, which may
// cover far less than the saved ones. Neither travels over the websocket (Home
// Assistant logs websocket messages at debug level); the HTTP responses say
// no-store, and a picture lives only in this element, as an object URL of an
// in-memory blob (never in storage, a cache or the page's address). The object
// URL is revoked as soon as the picture is replaced or dropped and when the
// panel closes. A picture that arrives for another doorbell, for a closed
// panel, for outdated draft zones or once privacy mode is on is dropped.

const MENU_ICON = "M3,6H21V8H3V6M3,11H21V13H3V11M3,16H21V18H3V16Z";
const SVG_NS = "http://www.w3.org/2000/svg";
const CLICK_SLOP = 5; // CSS pixels a press may move and still count as a click
const HANDLE_RADIUS = 9; // CSS pixels, with a mouse
const TOUCH_HANDLE_RADIUS = 15; // CSS pixels, with a finger
const PLACEHOLDER_SIZE = [800, 600]; // drawing area when there is no picture
const PRIVACY_TEXT = "The doorbell went into privacy mode, so the picture was not shown. " +
  "Turn privacy mode off to draw zones on the camera image.";

const STYLE = `
  :host {
    display: block;
    min-height: 100%;
    background: var(--primary-background-color, #fafafa);
    color: var(--primary-text-color, #212121);
    font-family: var(--paper-font-body1_-_font-family, Roboto, "Noto Sans", sans-serif);
    -webkit-font-smoothing: antialiased;
  }
  .toolbar {
    display: flex;
    align-items: center;
    gap: 8px;
    height: var(--header-height, 56px);
    padding: 0 12px;
    box-sizing: border-box;
    background: var(--app-header-background-color, var(--primary-color, #03a9f4));
    color: var(--app-header-text-color, var(--text-primary-color, #fff));
    border-bottom: var(--app-header-border-bottom, none);
  }
  .toolbar h1 { font-size: 20px; font-weight: 400; margin: 0 0 0 8px; }
  /* In the Doorbell panel, whose toolbar and tabs are above it. */
  :host([embedded]) .toolbar { display: none; }
  .menu { display: none; background: none; border: 0; color: inherit; padding: 8px; cursor: pointer; }
  :host([narrow]) .menu { display: inline-flex; }
  .menu svg { width: 24px; height: 24px; fill: currentColor; }
  .content {
    display: grid;
    grid-template-columns: minmax(0, 1fr) 320px;
    gap: 16px;
    padding: 16px;
    max-width: 1400px;
    margin: 0 auto;
    box-sizing: border-box;
  }
  @media (max-width: 900px) {
    .content { grid-template-columns: minmax(0, 1fr); padding: 8px; gap: 8px; }
  }
  .card {
    background: var(--card-background-color, var(--ha-card-background, #fff));
    border-radius: var(--ha-card-border-radius, 12px);
    border: 1px solid var(--divider-color, rgba(0, 0, 0, 0.12));
    box-shadow: var(--ha-card-box-shadow, none);
    padding: 12px;
    min-width: 0;
  }
  .row { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 8px; }
  .row label { display: flex; gap: 8px; align-items: center; flex: 1 1 200px; }
  select, input[type="text"] {
    font: inherit;
    color: var(--primary-text-color, #212121);
    background: var(--secondary-background-color, var(--card-background-color, #fff));
    border: 1px solid var(--divider-color, rgba(0, 0, 0, 0.2));
    border-radius: 6px;
    padding: 6px 8px;
    min-width: 0;
  }
  select { flex: 1 1 auto; }
  button.text, button.primary {
    font: inherit;
    font-weight: 500;
    border-radius: 18px;
    padding: 6px 14px;
    cursor: pointer;
    min-height: 36px;
    border: 1px solid var(--primary-color, #03a9f4);
    background: transparent;
    color: var(--primary-color, #03a9f4);
  }
  button.primary { background: var(--primary-color, #03a9f4); color: var(--text-primary-color, #fff); }
  button:disabled { opacity: 0.5; cursor: default; }
  button[aria-pressed="true"] { background: var(--primary-color, #03a9f4); color: var(--text-primary-color, #fff); }
  .stage {
    position: relative;
    width: 100%;
    line-height: 0;
    background: var(--secondary-background-color, #e0e0e0);
    border-radius: 8px;
    overflow: hidden;
    user-select: none;
    -webkit-user-select: none;
  }
  .stage img { width: 100%; height: auto; display: block; }
  .stage img[hidden] { display: none; }
  .stage .blank { width: 100%; aspect-ratio: 4 / 3; }
  .stage .blank[hidden] { display: none; }
  svg.overlay {
    position: absolute;
    inset: 0;
    width: 100%;
    height: 100%;
    touch-action: none;
    cursor: crosshair;
  }
  svg.overlay polygon, svg.overlay polyline {
    stroke-width: 2;
    vector-effect: non-scaling-stroke;
    stroke-linejoin: round;
  }
  svg.overlay .zone { fill: var(--accent-color, #ff9800); fill-opacity: 0.25; stroke: var(--accent-color, #ff9800); cursor: move; }
  svg.overlay .zone.selected { fill: var(--primary-color, #03a9f4); fill-opacity: 0.3; stroke: var(--primary-color, #03a9f4); }
  svg.overlay .zone.disabled { fill-opacity: 0.05; stroke-dasharray: 6 4; }
  svg.overlay .open { fill: none; stroke: var(--primary-color, #03a9f4); stroke-dasharray: 4 3; }
  svg.overlay .handle {
    fill: var(--card-background-color, #fff);
    stroke: var(--primary-color, #03a9f4);
    stroke-width: 2;
    vector-effect: non-scaling-stroke;
    cursor: grab;
  }
  svg.overlay .handle.active { fill: var(--primary-color, #03a9f4); }
  svg.overlay .label { fill: #fff; paint-order: stroke; stroke: rgba(0, 0, 0, 0.7); stroke-width: 3px; vector-effect: non-scaling-stroke; pointer-events: none; }
  .stage.preview svg.overlay { display: none; }
  .badge {
    position: absolute;
    top: 8px;
    right: 8px;
    line-height: 1.3;
    font-size: 12px;
    padding: 2px 8px;
    border-radius: 10px;
    background: rgba(0, 0, 0, 0.65);
    color: #fff;
    pointer-events: none;
  }
  .badge[hidden] { display: none; }
  .hint { color: var(--secondary-text-color, #727272); font-size: 14px; margin: 8px 0 0; line-height: 1.4; }
  h2 { font-size: 18px; font-weight: 500; margin: 0 0 8px; }
  ul { list-style: none; margin: 0 0 8px; padding: 0; }
  li {
    display: grid;
    grid-template-columns: auto minmax(0, 1fr) auto auto;
    gap: 8px;
    align-items: center;
    padding: 6px;
    border-radius: 8px;
    border: 1px solid transparent;
    cursor: pointer;
  }
  li.selected { border-color: var(--primary-color, #03a9f4); background: rgba(var(--rgb-primary-color, 3, 169, 244), 0.08); }
  li .count { color: var(--secondary-text-color, #727272); font-size: 12px; white-space: nowrap; }
  li input[type="checkbox"] { width: 20px; height: 20px; accent-color: var(--primary-color, #03a9f4); }
  button.icon {
    background: none;
    border: 0;
    color: var(--secondary-text-color, #727272);
    cursor: pointer;
    font-size: 18px;
    min-width: 36px;
    min-height: 36px;
  }
  .empty { color: var(--secondary-text-color, #727272); margin: 8px 0; }
  .message { min-height: 20px; margin: 8px 0; font-size: 14px; }
  .message.error { color: var(--error-color, #db4437); }
  .message.ok { color: var(--success-color, #43a047); }
  .actions { display: flex; gap: 8px; justify-content: flex-end; flex-wrap: wrap; }
`;

const TEMPLATE = `
  <div class="toolbar">
    <button class="menu" title="Menu" aria-label="Menu"><svg viewBox="0 0 24 24"><path d="${MENU_ICON}"></path></svg></button>
    <h1>Privacy zones</h1>
  </div>
  <div class="content">
    <div class="card">
      <div class="row">
        <label>Doorbell <select id="entry" aria-label="Doorbell"></select></label>
        <button class="text" id="refresh">New snapshot</button>
        <button class="text" id="preview" aria-pressed="false">Preview mask</button>
      </div>
      <div class="stage" id="stage">
        <img id="image" alt="Snapshot of the camera" hidden draggable="false">
        <div class="blank" id="blank"></div>
        <svg class="overlay" id="overlay" xmlns="${SVG_NS}" preserveAspectRatio="none"></svg>
        <span class="badge" id="badge" hidden></span>
      </div>
      <p class="hint">Click or tap the picture to add a corner to the selected zone. Drag a corner to move it, drag inside a zone to move the zone, double-click a corner (or select it and press Delete) to remove it.</p>
    </div>
    <div class="card">
      <h2>Zones</h2>
      <ul id="zones"></ul>
      <p class="empty" id="empty">No zones yet: add one and click its corners on the picture.</p>
      <div class="row">
        <button class="text" id="add">Add zone</button>
        <button class="text" id="delete-point" disabled>Delete corner</button>
      </div>
      <div class="message" id="message" role="status" aria-live="polite"></div>
      <div class="actions">
        <button class="text" id="discard" disabled>Discard changes</button>
        <button class="primary" id="save" disabled>Save</button>
      </div>
    </div>
  </div>
`;

const round = (value) => Math.round(Math.min(1, Math.max(0, value)) * 10000) / 10000;

class PeepholeZoneEditor extends HTMLElement {
  constructor() {
    super();
    this._hass = null;
    this._entries = [];
    this._entryId = null;
    this._zones = [];
    this._saved = "[]";
    this._selected = -1;
    this._point = -1;
    this._image = null; // {src, width, height}: the unmasked snapshot (src: an object URL)
    this._preview = null; // the masked preview (same shape, src: an object URL)
    this._previewRequest = 0; // numbers preview requests: only the latest may show
    this._previewing = false; // the latest preview request is on its way
    this._messageFrom = null; // what said the message shown ("snapshot" or null)
    this._drag = null;
    this._loading = false;
    this._wantSnapshot = false;
    this._limits = { max_points: 32, max_zones: 64, max_name_length: 64 };
    this.attachShadow({ mode: "open" });
    this.shadowRoot.innerHTML = `<style>${STYLE}</style>${TEMPLATE}`;
    const $ = (id) => this.shadowRoot.getElementById(id);
    this._el = {
      entry: $("entry"), refresh: $("refresh"), preview: $("preview"), stage: $("stage"),
      image: $("image"), blank: $("blank"), overlay: $("overlay"), zones: $("zones"),
      empty: $("empty"), add: $("add"), badge: $("badge"), deletePoint: $("delete-point"), message: $("message"),
      discard: $("discard"), save: $("save"),
    };
    this._bind();
  }

  // --- Home Assistant properties -------------------------------------------

  set hass(hass) {
    const first = this._hass === null;
    this._hass = hass;
    if (first) {
      this._load();
    } else {
      this._followPrivacyMode();
    }
  }

  // Privacy mode turned on while a picture is shown: it goes at once (the
  // unmasked snapshot and the preview alike), and the next request says why.
  // (A picture still on its way is dropped when it arrives: see _privacyOn.)
  _followPrivacyMode() {
    if (!this._privacyOn(this._entryId) || (!this._image && !this._preview)) {
      return;
    }
    this._dropPreview();
    this._setImage(null);
    this._snapshot();
  }

  // Whether the doorbell's masked camera says privacy mode is on.
  _privacyOn(entryId) {
    const entry = this._entries.find((e) => e.entry_id === entryId);
    const camera = entry?.camera_entity_id && this._hass?.states[entry.camera_entity_id];
    return Boolean(camera && camera.attributes.privacy_mode === true);
  }

  get hass() {
    return this._hass;
  }

  set narrow(narrow) {
    this.toggleAttribute("narrow", Boolean(narrow));
  }

  set panel(_panel) {}

  set route(_route) {}

  connectedCallback() {
    this._resize = new ResizeObserver(() => this._renderOverlay());
    this._resize.observe(this._el.stage);
    this._keys = (event) => this._onKey(event);
    window.addEventListener("keydown", this._keys);
    if (this._hass && this._entryId && !this._image) {
      // A snapshot still loading may finish while the panel is detached (and be
      // dropped): ask for another one then.
      this._wantSnapshot = this._loading;
      this._snapshot();
    }
  }

  disconnectedCallback() {
    this._resize?.disconnect();
    window.removeEventListener("keydown", this._keys);
    // Drop the pictures as soon as the editor is closed (and any preview still
    // on its way: it is dropped when it arrives).
    this._dropPreview();
    this._setImage(null);
  }

  // --- wiring -----------------------------------------------------------------

  _bind() {
    const el = this._el;
    this.shadowRoot.querySelector(".menu").addEventListener("click", () => {
      this.dispatchEvent(new Event("hass-toggle-menu", { bubbles: true, composed: true }));
    });
    el.entry.addEventListener("change", () => this._selectEntry(el.entry.value));
    el.refresh.addEventListener("click", () => this._snapshot());
    el.preview.addEventListener("click", () => this._togglePreview());
    el.add.addEventListener("click", () => this._addZone());
    el.deletePoint.addEventListener("click", () => this._deletePoint());
    el.discard.addEventListener("click", () => this._discard());
    el.save.addEventListener("click", () => this._save());
    el.overlay.addEventListener("pointerdown", (event) => this._onPointerDown(event));
    el.overlay.addEventListener("pointermove", (event) => this._onPointerMove(event));
    el.overlay.addEventListener("pointerup", (event) => this._onPointerUp(event));
    el.overlay.addEventListener("pointercancel", () => { this._drag = null; });
    el.overlay.addEventListener("dblclick", (event) => this._onDoubleClick(event));
    el.zones.addEventListener("click", (event) => this._onListClick(event));
    el.zones.addEventListener("input", (event) => this._onListInput(event));
    el.zones.addEventListener("change", (event) => this._onListInput(event));
  }

  async _ws(message) {
    return this._hass.callWS(message);
  }

  _say(text, kind = "", from = null) {
    this._el.message.textContent = text || "";
    this._el.message.className = `message ${kind}`;
    this._messageFrom = text ? from : null;
  }

  _sayError(err, from = null) {
    this._say(err && err.message ? err.message : String(err), "error", from);
  }

  // A picture (the snapshot or the preview): over HTTP (never the websocket),
  // into an object URL. Resolves to {src, width, height}; the caller owns (and
  // revokes) src. ``what`` names it in errors ("a snapshot", "a preview").
  async _fetchPicture(path, init, what) {
    const response = await this._hass.fetchWithAuth(path, { cache: "no-store", ...init });
    if (!response.ok) {
      // Peephole's errors are JSON {code, message}, translated like the others.
      let message = `Could not get ${what} (${response.status} ${response.statusText}).`;
      try {
        const body = await response.json();
        if (body && typeof body.message === "string" && body.message) {
          message = body.message;
        }
      } catch (_err) {
        // Not JSON (a proxy's error page, say): keep the status.
      }
      throw new Error(message);
    }
    const blob = await response.blob();
    const src = URL.createObjectURL(blob);
    try {
      // The drawing's coordinates come from the picture itself.
      const probe = new Image();
      probe.src = src;
      await probe.decode();
      return { src, width: probe.naturalWidth, height: probe.naturalHeight };
    } catch (_err) {
      URL.revokeObjectURL(src);
      throw new Error(`The picture could not be shown: it is not one this browser can decode (${what}).`);
    }
  }

  // The unmasked snapshot of a doorbell's source camera.
  _fetchSnapshot(entryId) {
    const language = this._hass.language;
    const query = language ? `?language=${encodeURIComponent(language)}` : "";
    return this._fetchPicture(
      `/api/peephole/zones/${encodeURIComponent(entryId)}/snapshot${query}`, {}, "a snapshot",
    );
  }

  // A fresh frame masked with the draft zones (posted as JSON, never in the address).
  _fetchPreview(entryId, zones) {
    return this._fetchPicture(
      `/api/peephole/zones/${encodeURIComponent(entryId)}/preview`,
      {
        method: "POST",
        body: JSON.stringify({ zones, language: this._hass.language }),
        headers: { "Content-Type": "application/json" },
      },
      "a preview",
    );
  }

  // --- data -------------------------------------------------------------------

  get _dirty() {
    return JSON.stringify(this._zones) !== this._saved;
  }

  async _load() {
    try {
      const result = await this._ws({ type: "peephole/zones/list" });
      this._entries = result.entries;
      this._limits = result.limits;
    } catch (err) {
      this._sayError(err);
      return;
    }
    const select = this._el.entry;
    select.replaceChildren(
      ...this._entries.map((entry) => {
        const option = document.createElement("option");
        option.value = entry.entry_id;
        option.textContent = entry.loaded ? entry.title : `${entry.title} (${entry.state})`;
        return option;
      }),
    );
    if (this._entries.length === 0) {
      this._say("Add a Peephole doorbell first (Settings → Devices & services).");
      this._render();
      return;
    }
    const wanted = new URLSearchParams(window.location.search).get("entry_id");
    const entry =
      this._entries.find((e) => e.entry_id === wanted) ||
      this._entries.find((e) => e.loaded) ||
      this._entries[0];
    select.value = entry.entry_id;
    this._selectEntry(entry.entry_id);
  }

  _selectEntry(entryId) {
    if (this._entryId !== null && this._dirty &&
        !window.confirm("Discard the unsaved changes to the zones?")) {
      this._el.entry.value = this._entryId;
      return;
    }
    const entry = this._entries.find((e) => e.entry_id === entryId);
    this._entryId = entryId;
    this._zones = (entry?.zones || []).map((zone) => ({
      name: zone.name,
      points: zone.points.map(([x, y]) => [x, y]),
      enabled: zone.enabled !== false,
    }));
    this._saved = JSON.stringify(this._zones);
    this._selected = this._zones.length ? 0 : -1;
    this._point = -1;
    this._dropPreview();
    this._setImage(null);
    this._say("");
    this._render();
    if (entry && !entry.loaded) {
      this._say(`This doorbell is not running (${entry.state}). You can still fix and save its zones.`, "error");
      return;
    }
    this._snapshot();
  }

  _setImage(image) {
    const old = this._image;
    this._image = image;
    this._showImage(image);
    if (old && old !== image) {
      // Let go of the old unmasked picture at once (the <img> shows another).
      URL.revokeObjectURL(old.src);
    }
  }

  // Drop the preview shown (back to the snapshot, its object URL revoked) and,
  // unless ``pending`` is false, the answer of a preview request on its way.
  _dropPreview(pending = true) {
    if (pending) {
      this._previewRequest += 1;
      this._previewing = false;
    }
    const old = this._preview;
    if (!old) {
      return;
    }
    this._preview = null;
    this._showImage(this._image);
    URL.revokeObjectURL(old.src);
  }

  _showImage(image) {
    const { image: img, blank, badge } = this._el;
    badge.hidden = !image;
    badge.textContent = image && image === this._preview
      ? "Masked preview"
      : "Unmasked: shown only to you while editing, never stored";
    if (image) {
      img.src = image.src;
      img.hidden = false;
      blank.hidden = true;
    } else {
      img.removeAttribute("src");
      img.hidden = true;
      blank.hidden = false;
    }
    this._renderOverlay();
  }

  async _snapshot() {
    if (!this._entryId || this._loading) {
      return;
    }
    this._loading = true;
    this._el.refresh.disabled = true;
    const entryId = this._entryId;
    try {
      const image = await this._fetchSnapshot(entryId);
      if (entryId !== this._entryId || !this.isConnected) {
        // Another doorbell was chosen, or the panel closed: drop the picture.
        URL.revokeObjectURL(image.src);
      } else if (this._privacyOn(entryId)) {
        // Privacy mode came on while the camera was asked: never show it.
        URL.revokeObjectURL(image.src);
        this._say(PRIVACY_TEXT, "error", "snapshot");
      } else {
        this._dropPreview(false); // a preview on its way may still come
        this._setImage(image);
        if (this._messageFrom === "snapshot") {
          // An earlier snapshot's error is over: this one worked.
          this._say("");
        }
      }
    } catch (err) {
      if (entryId === this._entryId && this.isConnected) {
        this._sayError(err, "snapshot");
      }
    } finally {
      this._loading = false;
      this._el.refresh.disabled = false;
      this._renderButtons();
    }
    // Asked for while this one was loading: the panel came back, or another
    // doorbell was chosen (whose picture this one was not).
    const entry = this._entries.find((e) => e.entry_id === this._entryId);
    const again = this._wantSnapshot || entryId !== this._entryId;
    if (again && this.isConnected && !this._image && entry && entry.loaded) {
      this._wantSnapshot = false;
      this._snapshot();
    }
  }

  _draft() {
    return this._zones.map((zone) => ({
      name: zone.name.trim(),
      points: zone.points,
      enabled: zone.enabled,
    }));
  }

  async _togglePreview() {
    if (this._preview) {
      this._dropPreview();
      this._renderButtons();
      return;
    }
    if (this._previewing) {
      return;
    }
    // What this preview is for: an answer for anything else is dropped.
    const entryId = this._entryId;
    const drawn = JSON.stringify(this._zones);
    this._previewRequest += 1;
    const request = this._previewRequest;
    const current = () => request === this._previewRequest && entryId === this._entryId &&
      this.isConnected && JSON.stringify(this._zones) === drawn;
    this._previewing = true;
    this._renderButtons();
    let preview = null;
    try {
      preview = await this._fetchPreview(entryId, this._draft());
    } catch (err) {
      if (current()) {
        this._sayError(err);
      }
    } finally {
      if (request === this._previewRequest) {
        this._previewing = false;
      }
    }
    if (preview) {
      if (!current()) {
        // Another doorbell was chosen, the zones changed, the panel closed or the
        // preview was dropped meanwhile: let the picture go.
        URL.revokeObjectURL(preview.src);
      } else if (this._privacyOn(entryId)) {
        URL.revokeObjectURL(preview.src);
        this._say(PRIVACY_TEXT, "error");
      } else {
        this._preview = preview;
        this._showImage(preview);
        this._say("This is what Peephole will show and store with these zones.");
      }
    }
    this._renderButtons();
  }

  async _save() {
    this._el.save.disabled = true;
    try {
      const result = await this._ws({
        type: "peephole/zones/save", entry_id: this._entryId,
        zones: this._draft(), language: this._hass.language,
      });
      this._zones = result.zones.map((zone) => ({ ...zone, points: zone.points.map((p) => [...p]) }));
      this._saved = JSON.stringify(this._zones);
      const entry = this._entries.find((e) => e.entry_id === this._entryId);
      if (entry) {
        entry.zones = result.zones;
      }
      this._say("Saved. The camera is masked with these zones from now on.", "ok");
    } catch (err) {
      this._sayError(err);
    }
    this._render();
  }

  _discard() {
    this._zones = JSON.parse(this._saved);
    this._selected = this._zones.length ? 0 : -1;
    this._point = -1;
    this._say("");
    this._changed();
  }

  _changed() {
    // A preview (shown or on its way) is of the old zones: back to the drawing.
    this._dropPreview();
    this._render();
  }

  _uniqueName() {
    const names = new Set(this._zones.map((z) => z.name.trim().toLowerCase()));
    for (let i = this._zones.length + 1; ; i += 1) {
      if (!names.has(`zone ${i}`)) {
        return `Zone ${i}`;
      }
    }
  }

  _addZone() {
    if (this._zones.length >= this._limits.max_zones) {
      this._say(`A camera can have at most ${this._limits.max_zones} zones.`, "error");
      return;
    }
    this._zones.push({ name: this._uniqueName(), points: [], enabled: true });
    this._selected = this._zones.length - 1;
    this._point = -1;
    this._say("Click the picture to place the new zone's corners.");
    this._changed();
  }

  _deletePoint(zoneIndex = this._selected, pointIndex = this._point) {
    const zone = this._zones[zoneIndex];
    if (!zone || pointIndex < 0 || pointIndex >= zone.points.length) {
      return;
    }
    zone.points.splice(pointIndex, 1);
    this._point = -1;
    this._changed();
  }

  _addPoint([x, y]) {
    if (this._selected < 0) {
      this._addZone();
    }
    const zone = this._zones[this._selected];
    if (zone.points.length >= this._limits.max_points) {
      this._say(`A zone can have at most ${this._limits.max_points} corners.`, "error");
      return;
    }
    const point = [round(x), round(y)];
    const pts = zone.points;
    let at = pts.length;
    if (pts.length >= 3) {
      // Insert into the side that grows the outline least.
      const { width, height } = this._size();
      const dist = (a, b) => Math.hypot((a[0] - b[0]) * width, (a[1] - b[1]) * height);
      let best = Infinity;
      for (let i = 0; i < pts.length; i += 1) {
        const a = pts[i];
        const b = pts[(i + 1) % pts.length];
        const cost = dist(a, point) + dist(point, b) - dist(a, b);
        if (cost < best) {
          best = cost;
          at = i + 1;
        }
      }
    }
    pts.splice(at, 0, point);
    this._point = at;
    this._changed();
  }

  // --- pointer and keyboard ---------------------------------------------------

  _size() {
    const image = this._preview || this._image;
    return image
      ? { width: image.width, height: image.height }
      : { width: PLACEHOLDER_SIZE[0], height: PLACEHOLDER_SIZE[1] };
  }

  _position(event) {
    const rect = this._el.overlay.getBoundingClientRect();
    return [(event.clientX - rect.left) / rect.width, (event.clientY - rect.top) / rect.height];
  }

  _onPointerDown(event) {
    if (event.button !== 0 || this._preview) {
      return;
    }
    const target = event.target;
    const zoneIndex = target.dataset.zone === undefined ? -1 : Number(target.dataset.zone);
    this._drag = {
      id: event.pointerId,
      start: [event.clientX, event.clientY],
      origin: this._position(event),
      moved: false,
      zone: zoneIndex,
      point: target.dataset.point === undefined ? -1 : Number(target.dataset.point),
      points: zoneIndex >= 0 ? this._zones[zoneIndex].points.map((p) => [...p]) : null,
      wasSelected: zoneIndex === this._selected,
    };
    if (zoneIndex >= 0) {
      this._selected = zoneIndex;
      this._point = this._drag.point;
      this._render();
    }
    this._el.overlay.setPointerCapture(event.pointerId);
    event.preventDefault();
  }

  _onPointerMove(event) {
    const drag = this._drag;
    if (!drag || drag.id !== event.pointerId) {
      return;
    }
    if (!drag.moved &&
        Math.hypot(event.clientX - drag.start[0], event.clientY - drag.start[1]) < CLICK_SLOP) {
      return;
    }
    drag.moved = true;
    if (drag.zone < 0) {
      return;
    }
    const [x, y] = this._position(event);
    const zone = this._zones[drag.zone];
    if (drag.point >= 0) {
      zone.points[drag.point] = [round(x), round(y)];
    } else {
      // Move the whole zone, keeping every corner inside the picture.
      const xs = drag.points.map((p) => p[0]);
      const ys = drag.points.map((p) => p[1]);
      const dx = Math.min(Math.max(x - drag.origin[0], -Math.min(...xs)), 1 - Math.max(...xs));
      const dy = Math.min(Math.max(y - drag.origin[1], -Math.min(...ys)), 1 - Math.max(...ys));
      zone.points = drag.points.map(([px, py]) => [round(px + dx), round(py + dy)]);
    }
    this._renderOverlay();
  }

  _onPointerUp(event) {
    const drag = this._drag;
    if (!drag || drag.id !== event.pointerId) {
      return;
    }
    this._drag = null;
    if (drag.moved) {
      if (drag.zone >= 0) {
        this._changed();
      }
      return;
    }
    // A click on the picture, or inside the selected zone, adds a corner there;
    // a click on another zone only selects it.
    if (drag.zone < 0 || (drag.point < 0 && drag.wasSelected)) {
      this._addPoint(this._position(event));
    }
  }

  _onDoubleClick(event) {
    const target = event.target;
    if (target.dataset.point !== undefined) {
      this._deletePoint(Number(target.dataset.zone), Number(target.dataset.point));
    }
  }

  _onKey(event) {
    const path = event.composedPath();
    if (path.some((el) => el.tagName === "INPUT" || el.tagName === "SELECT" || el.tagName === "TEXTAREA")) {
      return;
    }
    if ((event.key === "Delete" || event.key === "Backspace") && this._point >= 0) {
      this._deletePoint();
      event.preventDefault();
    } else if (event.key === "Escape" && this._point >= 0) {
      this._point = -1;
      this._render();
    }
  }

  _onListClick(event) {
    const item = event.target.closest("li");
    if (!item) {
      return;
    }
    const index = Number(item.dataset.index);
    if (event.target.closest(".remove")) {
      this._zones.splice(index, 1);
      this._selected = Math.min(this._selected, this._zones.length - 1);
      this._point = -1;
      this._changed();
      return;
    }
    if (this._selected !== index) {
      this._selected = index;
      this._point = -1;
      this._renderOverlay();
      for (const li of this._el.zones.children) {
        li.classList.toggle("selected", Number(li.dataset.index) === index);
      }
      this._renderButtons();
    }
  }

  _onListInput(event) {
    const item = event.target.closest("li");
    if (!item) {
      return;
    }
    const zone = this._zones[Number(item.dataset.index)];
    if (event.target.classList.contains("name")) {
      zone.name = event.target.value;
    } else if (event.target.classList.contains("enabled")) {
      zone.enabled = event.target.checked;
    }
    this._dropPreview(); // of the old zones
    this._renderOverlay();
    this._renderButtons();
  }

  // --- rendering --------------------------------------------------------------

  _render() {
    this._renderList();
    this._renderOverlay();
    this._renderButtons();
  }

  _renderButtons() {
    const el = this._el;
    const entry = this._entries.find((e) => e.entry_id === this._entryId);
    const live = Boolean(entry && entry.loaded);
    el.refresh.disabled = !live || this._loading;
    // Nothing to preview without an enabled zone (it would be the unmasked picture).
    el.preview.disabled = !live || this._previewing || !this._zones.some((zone) => zone.enabled);
    el.preview.setAttribute("aria-pressed", this._preview ? "true" : "false");
    el.stage.classList.toggle("preview", Boolean(this._preview));
    el.save.disabled = !entry || !this._dirty;
    el.discard.disabled = !this._dirty;
    el.add.disabled = !entry;
    el.deletePoint.disabled = this._point < 0;
  }

  _renderList() {
    const list = this._el.zones;
    list.replaceChildren(
      ...this._zones.map((zone, index) => {
        const li = document.createElement("li");
        li.dataset.index = String(index);
        li.classList.toggle("selected", index === this._selected);
        const enabled = document.createElement("input");
        enabled.type = "checkbox";
        enabled.className = "enabled";
        enabled.checked = zone.enabled;
        enabled.title = "Masked";
        enabled.setAttribute("aria-label", `Mask ${zone.name}`);
        const name = document.createElement("input");
        name.type = "text";
        name.className = "name";
        name.value = zone.name;
        name.maxLength = this._limits.max_name_length;
        name.setAttribute("aria-label", "Zone name");
        const count = document.createElement("span");
        count.className = "count";
        count.textContent = `${zone.points.length} corners`;
        const remove = document.createElement("button");
        remove.className = "icon remove";
        remove.textContent = "✕";
        remove.title = "Delete zone";
        remove.setAttribute("aria-label", `Delete zone ${zone.name}`);
        li.append(enabled, name, count, remove);
        return li;
      }),
    );
    this._el.empty.hidden = this._zones.length > 0;
  }

  _renderOverlay() {
    const svg = this._el.overlay;
    const { width, height } = this._size();
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const shown = svg.getBoundingClientRect().width || width;
    const coarse = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
    const radius = ((coarse ? TOUCH_HANDLE_RADIUS : HANDLE_RADIUS) * width) / shown;
    const make = (tag, attrs) => {
      const node = document.createElementNS(SVG_NS, tag);
      for (const [key, value] of Object.entries(attrs)) {
        node.setAttribute(key, String(value));
      }
      return node;
    };
    const nodes = [];
    const handles = [];
    this._zones.forEach((zone, zi) => {
      const pts = zone.points.map(([x, y]) => `${x * width},${y * height}`).join(" ");
      const selected = zi === this._selected;
      const classes = ["zone", selected ? "selected" : "", zone.enabled ? "" : "disabled"].join(" ");
      if (zone.points.length >= 3) {
        nodes.push(make("polygon", { points: pts, class: classes, "data-zone": zi }));
        const cx = zone.points.reduce((s, p) => s + p[0], 0) / zone.points.length;
        const cy = zone.points.reduce((s, p) => s + p[1], 0) / zone.points.length;
        const label = make("text", {
          x: cx * width, y: cy * height, class: "label", "text-anchor": "middle",
          "dominant-baseline": "middle", "font-size": (14 * width) / shown,
        });
        label.textContent = zone.name;
        nodes.push(label);
      } else if (zone.points.length === 2) {
        nodes.push(make("polyline", { points: pts, class: "open" }));
      }
      if (selected) {
        zone.points.forEach(([x, y], pi) => {
          handles.push(make("circle", {
            cx: x * width, cy: y * height, r: radius,
            class: `handle${pi === this._point ? " active" : ""}`,
            "data-zone": zi, "data-point": pi,
          }));
        });
      }
    });
    svg.replaceChildren(...nodes, ...handles);
  }
}

if (!customElements.get("peephole-zone-editor")) {
  customElements.define("peephole-zone-editor", PeepholeZoneEditor);
}
