// Peephole: the doorbell card, custom:peephole-doorbell-card, for every user.
//
// Loaded on every dashboard by the integration (no resource to add by hand).
// Shows the masked live view (Home Assistant's MJPEG stream of Peephole's masked
// camera), when the doorbell last rang, the last clips as thumbnails that play on
// tap (from Home Assistant's media browser, where Peephole lists its clips: the
// same for every user who may see the camera), the privacy switch, and, for
// administrators, "share the last clip". Thumbnails and clips are signed paths of
// Peephole's authenticated views: no picture travels over the websocket.
//
//   type: custom:peephole-doorbell-card
//   entity: camera.front_door   # Peephole's masked camera
//   title: Front door           # optional (the doorbell's name)
//   live: true                  # MJPEG live view (false: a still every 10 s)
//   clips: 6                    # how many of the last clips (0 to 12)

import { SHARED_STYLE, errorText, h, icon, loadStrings, localizer, relativeTime, timeOf } from "./peephole-common.js";
import { SHARE_STYLE, shareClips } from "./peephole-share-dialog.js";

const RECENT_RING = 60 * 1000; // the bell is highlighted this long after a ring
const STILL_REFRESH = 10 * 1000;

const STYLE = `
  :host { display: block; }
  ha-card { overflow: hidden; height: 100%; display: flex; flex-direction: column; }
  .header { display: flex; align-items: center; justify-content: space-between; gap: 8px; padding: 12px 16px 8px; }
  .header h2 { margin: 0; font-size: 18px; font-weight: 500; line-height: 1.3; color: var(--primary-text-color, #212121); }
  .ring { display: flex; align-items: center; gap: 6px; font-size: 14px; color: var(--secondary-text-color, #5f6368); }
  .ring ha-icon { --mdc-icon-size: 20px; }
  .ring.recent { color: var(--primary-text-color, #212121); font-weight: 500; }
  .ring.recent ha-icon { color: var(--state-active-color, var(--amber-color, #ffc107)); animation: ding 1s ease-in-out 3; }
  @keyframes ding { 0%, 100% { transform: rotate(0); } 25% { transform: rotate(18deg); } 75% { transform: rotate(-18deg); } }
  @media (prefers-reduced-motion: reduce) { .ring.recent ha-icon { animation: none; } }
  .view { position: relative; background: #000; aspect-ratio: 4 / 3; }
  .view img, .view video { width: 100%; height: 100%; object-fit: contain; display: block; }
  .view .badge { position: absolute; left: 8px; top: 8px; font-size: 12px; line-height: 20px; padding: 0 8px;
    border-radius: 10px; background: rgba(0, 0, 0, 0.6); color: #fff; }
  .view .close { position: absolute; right: 8px; top: 8px; background: rgba(0, 0, 0, 0.6); color: #fff; border-color: transparent; }
  .strip-title { margin: 12px 16px 4px; font-size: 14px; font-weight: 500; color: var(--secondary-text-color, #5f6368); }
  ul.strip { list-style: none; display: flex; gap: 8px; overflow-x: auto; padding: 4px 16px 8px; margin: 0; scrollbar-width: thin; }
  ul.strip li { flex: 0 0 auto; }
  .thumb { width: 96px; padding: 0; border: 2px solid transparent; border-radius: 8px; cursor: pointer;
    background: var(--secondary-background-color, #e0e0e0); overflow: hidden; display: block; }
  .thumb[aria-current="true"] { border-color: var(--primary-color, #03a9f4); }
  .thumb img { width: 100%; aspect-ratio: 4 / 3; object-fit: cover; display: block; }
  .thumb span { display: block; font-size: 12px; line-height: 20px; color: var(--primary-text-color, #212121);
    background: var(--card-background-color, #fff); }
  .empty { margin: 4px 16px 8px; font-size: 14px; }
  .actions { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; justify-content: space-between;
    padding: 8px 16px 12px; border-top: 1px solid var(--divider-color, rgba(0, 0, 0, 0.12)); margin-top: auto; }
  .switch { display: inline-flex; align-items: center; gap: 10px; font: inherit; font-size: 14px; background: none;
    border: 0; padding: 4px 0; cursor: pointer; color: var(--primary-text-color, #212121); min-height: 36px; }
  .switch .track { width: 36px; height: 20px; border-radius: 10px; position: relative; flex: none;
    background: var(--switch-unchecked-track-color, rgba(0, 0, 0, 0.38)); transition: background 0.2s; }
  .switch .track::after { content: ""; position: absolute; top: 2px; left: 2px; width: 16px; height: 16px; border-radius: 50%;
    background: var(--switch-unchecked-button-color, #fafafa); transition: transform 0.2s; }
  .switch[aria-checked="true"] .track { background: var(--switch-checked-track-color, var(--primary-color, #03a9f4)); }
  .switch[aria-checked="true"] .track::after { transform: translateX(16px); background: var(--switch-checked-button-color, #fff); }
  .switch:focus-visible { outline: 2px solid var(--primary-color, #03a9f4); outline-offset: 2px; border-radius: 4px; }
  .warning { padding: 16px; color: var(--error-color, #db4437); }
  ${SHARED_STYLE}
  ${SHARE_STYLE}
`;

function peepholeEntities(hass, cameraId) {
  const camera = hass.entities?.[cameraId];
  const found = { camera: cameraId, doorbell: null, privacy: null, recording: null, entryId: null };
  if (!camera || !camera.device_id) return found;
  for (const entity of Object.values(hass.entities)) {
    if (entity.device_id !== camera.device_id || entity.platform !== "peephole") continue;
    if (entity.entity_id.startsWith("event.")) found.doorbell = entity.entity_id;
    if (entity.entity_id.startsWith("switch.")) found.privacy = entity.entity_id;
    if (entity.entity_id.startsWith("binary_sensor.") && entity.translation_key === "recording") {
      found.recording = entity.entity_id;
    }
  }
  const device = hass.devices?.[camera.device_id];
  const identifier = (device?.identifiers || []).find((pair) => pair[0] === "peephole");
  found.entryId = identifier ? identifier[1] : null;
  return found;
}

class PeepholeDoorbellCard extends HTMLElement {
  static getConfigElement() {
    return document.createElement("peephole-doorbell-card-editor");
  }

  static getStubConfig(hass) {
    const camera = Object.values(hass.entities || {}).find(
      (entity) => entity.platform === "peephole" && entity.entity_id.startsWith("camera."),
    );
    return { entity: camera ? camera.entity_id : "", live: true, clips: 6 };
  }

  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this._config = null;
    this._hass = null;
    this._t = (key) => key;
    this._clips = [];
    this._playing = null;
  }

  setConfig(config) {
    if (!config || typeof config.entity !== "string" || !config.entity.startsWith("camera.")) {
      throw new Error("Choose Peephole's masked camera (entity: camera.…)");
    }
    const clips = config.clips === undefined ? 6 : Number(config.clips);
    this._config = { live: true, ...config, clips: Math.max(0, Math.min(12, Number.isFinite(clips) ? clips : 6)) };
    this._built = false;
    if (this._hass) this._build();
  }

  getCardSize() {
    return 7;
  }

  getGridOptions() {
    return { columns: 12, min_columns: 6, rows: "auto" };
  }

  set hass(hass) {
    const previous = this._hass;
    this._hass = hass;
    if (!this._config) return;
    // (Built once; again when a missing camera appears.)
    if (!this._built || (this._missing && hass.states[this._config.entity])) {
      this._build();
      return;
    }
    // Until the build is done (it waits for the strings) there is nothing to update.
    if (this._ready) this._update(previous);
  }

  connectedCallback() {
    if (this._ready) {
      this._setLive();
      this._timer = window.setInterval(() => this._tick(), STILL_REFRESH);
    }
  }

  disconnectedCallback() {
    window.clearInterval(this._timer);
    this._timer = null;
    // Close the MJPEG stream when the card is not shown.
    if (this._img) this._img.removeAttribute("src");
  }

  async _build() {
    this._built = true;
    this._ready = false;
    const strings = await loadStrings(this._hass);
    this._t = localizer(strings);
    const t = this._t;
    const config = this._config;
    this._ids = peepholeEntities(this._hass, config.entity);
    const state = this._hass.states[config.entity];
    const title = config.title || state?.attributes.friendly_name || config.entity;
    this._missing = !state;
    if (!state) {
      this.shadowRoot.replaceChildren(h("style", {}, STYLE),
        h("ha-card", {}, h("p", { class: "warning" }, t("card_missing", { entity: config.entity }))));
      return;
    }
    this._img = h("img", { alt: t("card_live_alt", { name: title }) });
    this._view = h("div", { class: "view" }, this._img, h("span", { class: "badge", id: "badge" }, t("card_live")));
    this._ring = h("div", { class: "ring", role: "status", "aria-live": "polite" });
    this._strip = h("ul", { class: "strip", "aria-labelledby": "strip-title" });
    this._switch = h("button", {
      class: "switch", role: "switch", "aria-checked": "false", id: "privacy",
      onclick: () => this._togglePrivacy(),
    }, h("span", { class: "track", "aria-hidden": "true" }), h("span", {}, t("privacy_mode")));
    this._share = this._hass.user?.is_admin
      ? h("button", { class: "button", id: "share-last", disabled: true, onclick: () => this._shareLast() },
        icon("mdi:share-variant"), t("share_last"))
      : null;
    this._message = h("p", { class: "message", role: "alert", style: "margin: 0 16px" });
    this.shadowRoot.replaceChildren(
      h("style", {}, STYLE),
      h("ha-card", {},
        h("div", { class: "header" }, h("h2", {}, title), this._ring),
        this._view,
        config.clips > 0 ? h("h3", { class: "strip-title", id: "strip-title" }, t("last_clips")) : null,
        config.clips > 0 ? this._strip : null,
        this._message,
        h("div", { class: "actions" }, this._ids.privacy ? this._switch : h("span"), this._share)),
    );
    if (this.isConnected) {
      window.clearInterval(this._timer);
      this._timer = window.setInterval(() => this._tick(), STILL_REFRESH);
    }
    this._ready = true;
    this._setLive();
    this._update(null);
    this._loadClips();
  }

  _cameraSrc() {
    const state = this._hass.states[this._config.entity];
    const token = state?.attributes.access_token;
    if (!token) return null;
    const entity = encodeURIComponent(this._config.entity);
    return this._config.live
      ? `/api/camera_proxy_stream/${entity}?token=${token}`
      : `/api/camera_proxy/${entity}?token=${token}&t=${Date.now()}`;
  }

  _setLive() {
    if (!this._img || this._playing) return;
    const src = this._cameraSrc();
    if (src && (!this._config.live || !this._img.getAttribute("src"))) this._img.src = src;
  }

  _tick() {
    if (!this._config.live) this._setLive();
    this._renderRing(); // "2 minutes ago" moves on
  }

  _update(previous) {
    const ids = this._ids;
    if (ids.privacy) {
      const on = this._hass.states[ids.privacy]?.state === "on";
      this._switch.setAttribute("aria-checked", on ? "true" : "false");
    }
    this._renderRing();
    const old = previous && ids.doorbell ? previous.states[ids.doorbell] : null;
    const now = ids.doorbell ? this._hass.states[ids.doorbell] : null;
    if (old && now && old.state !== now.state) {
      // A ring: its clip is saved a little later; ask again then, too.
      window.setTimeout(() => this._loadClips(), 20000);
    }
    // A clip was saved when recording ends.
    const recording = ids.recording;
    const was = recording ? previous?.states[recording]?.state : null;
    if (was === "on" && this._hass.states[recording]?.state === "off") this._loadClips();
  }

  _renderRing() {
    if (!this._ring) return;
    const t = this._t;
    const state = this._ids.doorbell ? this._hass.states[this._ids.doorbell] : null;
    const when = state && !["unknown", "unavailable"].includes(state.state) ? state.state : null;
    const recent = when && Date.now() - new Date(when).getTime() < RECENT_RING;
    this._ring.className = `ring${recent ? " recent" : ""}`;
    this._ring.replaceChildren(
      icon(recent ? "mdi:bell-ring" : "mdi:bell-outline"),
      h("span", {}, when
        ? t("last_ring", { time: timeOf(this._hass, when), ago: relativeTime(this._hass, when) })
        : t("never_rang")),
    );
  }

  // The last clips, newest first, from Home Assistant's media browser.
  async _loadClips() {
    const entryId = this._ids.entryId;
    if (!entryId || !this._config.clips) return;
    const browse = (id) => this._hass.callWS({ type: "media_source/browse_media", media_content_id: id });
    const clips = [];
    try {
      const doorbell = await browse(`media-source://peephole/${entryId}`);
      for (const day of doorbell.children || []) {
        if (clips.length >= this._config.clips) break;
        const listed = await browse(day.media_content_id);
        for (const child of listed.children || []) {
          if (clips.length >= this._config.clips) break;
          clips.push(child);
        }
      }
    } catch (_err) {
      // No recording, or not allowed to see it: no strip.
    }
    const signed = await Promise.all(clips.map(async (clip) => {
      if (!clip.thumbnail) return { ...clip, src: null };
      try {
        const answer = await this._hass.callWS({ type: "auth/sign_path", path: clip.thumbnail, expires: 3600 });
        return { ...clip, src: answer.path };
      } catch (_err) {
        return { ...clip, src: null };
      }
    }));
    this._clips = signed;
    this._renderStrip();
  }

  _renderStrip() {
    const t = this._t;
    if (this._share) this._share.disabled = !this._clips.length;
    if (!this._clips.length) {
      this._strip.replaceChildren(h("li", { class: "empty muted" }, t("no_clips_yet")));
      return;
    }
    this._strip.replaceChildren(...this._clips.map((clip) => {
      // The clip id starts with its UTC start (YYYYMMDDTHHMMSS): shown in the
      // user's time format, as the ring's time is.
      const id = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})-/.exec(clip.media_content_id.split("/").pop());
      const time = id ? timeOf(this._hass, `${id[1]}-${id[2]}-${id[3]}T${id[4]}:${id[5]}:${id[6]}Z`) : clip.title.split(" ")[0];
      // (The name starts with the time the button shows.)
      const title = id ? [time, ...clip.title.split(" ").slice(1)].join(" ") : clip.title;
      return h("li", {}, h("button", {
        class: "thumb", "aria-label": t("card_play", { title }),
        "aria-current": this._playing === clip.media_content_id ? "true" : "false",
        onclick: () => this._play(clip),
      }, clip.src ? h("img", { src: clip.src, alt: "" }) : null, h("span", { "aria-hidden": "true" }, time)));
    }));
  }

  async _play(clip) {
    const t = this._t;
    if (this._playing === clip.media_content_id) {
      this._stopPlaying();
      return;
    }
    try {
      const resolved = await this._hass.callWS({
        type: "media_source/resolve_media", media_content_id: clip.media_content_id, expires: 3600,
      });
      this._playing = clip.media_content_id;
      this._img.removeAttribute("src"); // the live stream pauses meanwhile
      const video = h("video", { src: resolved.url, controls: true, autoplay: true, playsinline: true, "aria-label": clip.title });
      video.muted = true;
      const close = h("button", { class: "button close", onclick: () => this._stopPlaying() }, t("card_back_to_live"));
      this._view.replaceChildren(video, h("span", { class: "badge" }, clip.title), close);
      this._renderStrip();
      close.focus();
    } catch (err) {
      this._message.textContent = errorText(err);
    }
  }

  _stopPlaying() {
    const playing = this._playing;
    this._playing = null;
    this._view.replaceChildren(this._img, h("span", { class: "badge" }, this._t("card_live")));
    this._img.removeAttribute("src");
    this._setLive();
    this._renderStrip();
    const index = this._clips.findIndex((c) => c.media_content_id === playing);
    this._strip.querySelectorAll(".thumb")[index]?.focus();
  }

  async _togglePrivacy() {
    try {
      await this._hass.callService("switch", "toggle", { entity_id: this._ids.privacy });
    } catch (err) {
      this._message.textContent = errorText(err);
    }
  }

  async _shareLast() {
    const clip = this._clips[0];
    if (!clip) return;
    const clipId = clip.media_content_id.split("/").pop();
    await shareClips(this.shadowRoot, this._hass, this._t, {
      entryId: this._ids.entryId, clipIds: [clipId], describe: this._t("share_describe", { clip: clip.title }),
    });
    this._share.focus();
  }
}

class PeepholeDoorbellCardEditor extends HTMLElement {
  constructor() {
    super();
    this._config = {};
    this._t = (key) => key;
  }

  setConfig(config) {
    this._config = { ...config };
    this._render();
  }

  set hass(hass) {
    const first = !this._hass;
    this._hass = hass;
    if (first) {
      loadStrings(hass).then((strings) => {
        this._t = localizer(strings);
        this._render();
      });
    }
    if (this._form) this._form.hass = hass;
  }

  _render() {
    if (!this._hass) return;
    const t = this._t;
    if (!this._form) {
      this._form = document.createElement("ha-form");
      this._form.addEventListener("value-changed", (event) => {
        this._config = { ...this._config, ...event.detail.value };
        this.dispatchEvent(new CustomEvent("config-changed", { detail: { config: this._config }, bubbles: true, composed: true }));
      });
      this.append(this._form);
    }
    this._form.hass = this._hass;
    this._form.data = { live: true, clips: 6, ...this._config };
    this._form.schema = [
      { name: "entity", required: true, selector: { entity: { domain: "camera", integration: "peephole" } } },
      { name: "title", selector: { text: {} } },
      { name: "live", selector: { boolean: {} } },
      { name: "clips", selector: { number: { min: 0, max: 12, mode: "box" } } },
    ];
    this._form.computeLabel = (schema) => t(`card_field_${schema.name}`);
  }
}

if (!customElements.get("peephole-doorbell-card")) {
  customElements.define("peephole-doorbell-card", PeepholeDoorbellCard);
  customElements.define("peephole-doorbell-card-editor", PeepholeDoorbellCardEditor);
  window.customCards = window.customCards || [];
  window.customCards.push({
    type: "peephole-doorbell-card",
    name: "Peephole doorbell",
    description: "The masked live view, the last ring, the last clips and the privacy switch.",
    preview: true,
  });
}
