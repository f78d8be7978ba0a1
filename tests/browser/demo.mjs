// Drive the running Peephole demo in Debian's headless Chromium (playwright-core).
// Usage: node demo.mjs DEMO_JSON SCREENSHOT_DIR
// DEMO_JSON is the demo's state file ({url, username, password, control}).
// Exits non-zero (with a message) on the first failed check.
import { readFileSync, mkdirSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { logIn } from "./login.mjs";
import {
  dialogStillPixel, grabFrames, imagePixel, openMoreInfo, restChange, waitForPlaying, watchHls,
} from "./live.mjs";

const [demoJson, shots] = process.argv.slice(2);
const MASKED = "camera.front_door";
const STREET_ZONE_BOTTOM = 0.56; // the demo's street zone: the top 56 % (tools/demo)
const demo = JSON.parse(readFileSync(demoJson, "utf8"));
mkdirSync(shots, { recursive: true });

function check(condition, message) {
  if (!condition) {
    throw new Error(`check failed: ${message}`);
  }
  console.log(`ok - ${message}`);
}

function emulator(command) {
  return new Promise((resolve, reject) => {
    const socket = createConnection(demo.control, () => socket.write(`${command}\n`));
    let reply = "";
    socket.on("data", (chunk) => {
      reply += chunk;
      if (reply.includes("\n")) {
        socket.end();
        resolve(reply.trim());
      }
    });
    socket.on("error", reject);
  });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(60000);

  // Log in with the demo user.
  await logIn(page, demo);
  check(true, "logged in as the demo user");

  // The dashboard shows the masked camera (the source camera is hidden).
  const cameraImage = page.locator('hui-picture-entity-card img, hui-image img').first();
  await cameraImage.waitFor({ state: "visible" });
  await page.waitForFunction(
    () => {
      const find = (root) => {
        for (const el of root.querySelectorAll("*")) {
          if (el.tagName === "IMG" && el.src.includes("camera_proxy") && el.naturalWidth > 0) {
            return el;
          }
          if (el.shadowRoot) {
            const found = find(el.shadowRoot);
            if (found) return found;
          }
        }
        return null;
      };
      window.__peepholeImg = find(document);
      return window.__peepholeImg !== null;
    },
    null,
    { timeout: 30000 },
  );
  const src = await page.evaluate(() => window.__peepholeImg.src);
  check(src.includes("camera.front_door"), `the dashboard shows the masked camera (${new URL(src).pathname})`);
  check(!src.includes("peephole_doorbell_camera"), "the unmasked source camera is not on the dashboard");
  const [r, g, b] = await imagePixel(await page.evaluateHandle(() => window.__peepholeImg), 0.5, 0.2);
  check(
    Math.abs(r - 128) < 4 && Math.abs(g - 128) < 4 && Math.abs(b - 128) < 4,
    `the street is masked on the dashboard (pixel ${r},${g},${b})`,
  );
  await page.screenshot({ path: join(shots, "dashboard.png") });

  // Ring the doorbell from the emulated device; Peephole's doorbell entity fires
  // `ring` once, and its more-info dialog shows it.
  const doorbell = "event.front_door_doorbell";
  const stateOf = (id) =>
    page.evaluate((entityId) => {
      const state = document.querySelector("home-assistant").hass.states[entityId];
      return state ? { state: state.state, type: state.attributes.event_type } : null;
    }, id);
  const before = await stateOf(doorbell);
  check(before !== null, `${doorbell} exists`);
  const reply = await emulator("press");
  check(reply.startsWith("ok"), `the emulated doorbell was pressed (${reply})`);
  await page.waitForFunction(
    ([entityId, previous]) => {
      const state = document.querySelector("home-assistant").hass.states[entityId];
      return state && state.state !== previous && state.attributes.event_type === "ring";
    },
    [doorbell, before.state],
  );
  check(true, `${doorbell} fired ring`);
  // The ring is recorded: a clip (pre-roll + post-roll) appears in the media browser.
  const findClip = () => page.evaluate(async () => {
    const hass = document.querySelector("home-assistant").hass;
    const browse = (id) => hass.callWS({ type: "media_source/browse_media", media_content_id: id });
    try {
      const root = await browse("media-source://peephole");
      if (!root.children.length) return null;
      const door = await browse(root.children[0].media_content_id);
      if (!door.children.length) return null;
      const day = await browse(door.children[0].media_content_id);
      const item = day.children.find((child) => child.title.includes("ring"));
      if (!item) return null;
      const resolved = await hass.callWS({
        type: "media_source/resolve_media", media_content_id: item.media_content_id,
      });
      return { title: item.title, door: door.title, url: resolved.url };
    } catch (err) {
      return null;
    }
  });
  let clip = null;
  for (const deadline = Date.now() + 90000; clip === null && Date.now() < deadline;) {
    clip = await findClip();
    if (clip === null) await page.waitForTimeout(2000);
  }
  check(clip !== null, "the ring was recorded");
  check(clip.door === "Front door", `a clip appeared in the media browser (${clip.title})`);
  const video = await page.evaluate(async (url) => {
    const response = await fetch(url);
    const body = await response.arrayBuffer();
    return { status: response.status, type: response.headers.get("content-type"), size: body.byteLength };
  }, clip.url);
  check(video.status === 200 && video.type === "video/mp4" && video.size > 10000,
    `the clip is served by Peephole's view (${video.type}, ${video.size} bytes)`);
  // Chromium plays it, and the street is masked in its frames too.
  const played = await page.evaluate(async (url) => {
    const element = document.createElement("video");
    element.muted = true;
    element.src = url;
    await new Promise((resolve, reject) => {
      element.onloadeddata = resolve;
      element.onerror = () => reject(new Error(`video error ${element.error && element.error.code}`));
    });
    element.currentTime = Math.min(1, element.duration / 2);
    await new Promise((resolve) => { element.onseeked = resolve; });
    const canvas = document.createElement("canvas");
    canvas.width = element.videoWidth;
    canvas.height = element.videoHeight;
    const context = canvas.getContext("2d");
    context.drawImage(element, 0, 0);
    const pixel = Array.from(context.getImageData(
      Math.floor(canvas.width * 0.5), Math.floor(canvas.height * 0.2), 1, 1,
    ).data);
    return { duration: element.duration, width: element.videoWidth, pixel };
  }, clip.url);
  const [vr, vg, vb] = played.pixel;
  check(played.duration > 5 && played.width === 800,
    `Chromium plays the clip (${played.duration.toFixed(1)} s, ${played.width} px wide)`);
  check(Math.abs(vr - 128) < 8 && Math.abs(vg - 128) < 8 && Math.abs(vb - 128) < 8,
    `the street is masked in the clip (pixel ${vr},${vg},${vb})`);

  await page.evaluate((entityId) => {
    document.querySelector("home-assistant").dispatchEvent(
      new CustomEvent("hass-more-info", { detail: { entityId }, bubbles: true, composed: true }),
    );
  }, doorbell);
  await page.locator("ha-more-info-dialog").waitFor({ state: "attached" });
  await page.waitForTimeout(1000);
  await page.screenshot({ path: join(shots, "doorbell.png") });

  await page.keyboard.press("Escape");
  await page.waitForTimeout(1000);

  // The masked camera's live view: its more-info dialog plays HLS from Home
  // Assistant's stream component (which reads Peephole's masked stream), and the
  // pictures decoded from it show the street masked and the porch moving.
  const hls = watchHls(page);
  await openMoreInfo(page, MASKED);
  const started = await waitForPlaying(page);
  await page.waitForTimeout(3000);
  const later = await page.locator("ha-more-info-dialog ha-hls-player video").evaluate((v) => v.currentTime);
  check(later - started > 1.5,
    `the more-info dialog plays the masked stream (currentTime ${started.toFixed(1)} → ${later.toFixed(1)} s in 3 s)`);
  const served = (pattern) => hls.filter((r) => r.status === 200 && pattern.test(r.path)).length;
  const parts = served(/\/segment\/\d+\.\d+\.m4s$/) + served(/\/segment\/\d+\.m4s$/);
  check(served(/\/master_playlist\.m3u8$/) >= 1 && served(/\/init\.mp4$/) >= 1 && parts >= 2,
    `over HLS from Home Assistant (/api/hls/: ${served(/playlist\.m3u8$/)} playlists, init.mp4, ${parts} segments and parts)`);
  // A visitor steps onto the porch (below the zone) and sways there.
  const motion = await emulator("motion 40");
  check(motion.startsWith("ok"), `someone walks up to the door (${motion})`);
  await page.waitForTimeout(4000); // HLS shows the door a few seconds late
  const frames = [];
  let changes = [];
  // 16 pictures 0.4 s apart; 16 more if the visitor was not in them yet (a busy
  // machine delays the live view).
  for (let round = 0; round < 2 && changes.filter((change) => change > 40).length < 2; round += 1) {
    frames.push(...await grabFrames(page, { count: 16, every: 400, zoneBottom: STREET_ZONE_BOTTOM }));
    changes = frames.slice(1).map((frame, i) => restChange(frames[i], frame));
  }
  const times = new Set(frames.map((frame) => frame.time.toFixed(2)));
  check(frames[0].width === 800 && frames[0].height === 600 && times.size >= frames.length / 2,
    `${frames.length} pictures drawn from the <video> to a canvas (${frames[0].width}x${frames[0].height}, ${times.size} distinct times)`);
  const flat = frames.every((f) => f.max - f.min <= 6 && Math.abs(f.mean - 128) <= 8);
  check(flat, `the street zone is one flat grey in every picture (${frames.map((f) => `${f.min}-${f.max}`).join(", ")})`);
  check(changes.filter((change) => change > 40).length >= 2,
    `the rest of the picture moves between pictures (largest change per step: ${changes.map(Math.round).join(", ")})`);
  await page.screenshot({ path: join(shots, "live-stream.png") });

  // Privacy mode while someone watches: the stream ends (Home Assistant stops it),
  // the dialog falls back to the camera's MJPEG, which is the placeholder, and
  // Home Assistant hands out no stream for the camera any more.
  const privateFrom = Date.now();
  await page.evaluate(() =>
    document.querySelector("home-assistant").hass.callService("switch", "turn_on", {
      entity_id: "switch.front_door_privacy_mode",
    }),
  );
  let pixel = null;
  for (const deadline = Date.now() + 40000; pixel === null && Date.now() < deadline;) {
    pixel = await dialogStillPixel(page);
    if (pixel === null) await page.waitForTimeout(500);
  }
  check(pixel !== null && pixel.every((value) => value < 60),
    `privacy mode ends the live stream: the dialog shows the placeholder (pixel ${pixel})`);
  const late = hls.filter((r) => r.at > privateFrom + 1000 && r.status === 200 && /\.m4s$/.test(r.path));
  check(late.length === 0, "no HLS segment is served after privacy mode went on");
  const refused = await page.evaluate(async (entityId) => {
    try {
      await document.querySelector("home-assistant").hass.callWS({ type: "camera/stream", entity_id: entityId });
      return null;
    } catch (err) {
      return err.message || String(err.code);
    }
  }, MASKED);
  check(refused !== null, `Home Assistant offers no stream of the camera in privacy mode (${refused})`);
  await page.keyboard.press("Escape");
  await page.waitForTimeout(1000);

  // Privacy mode: the live view turns into the placeholder.
  await page.evaluate(() =>
    document.querySelector("home-assistant").hass.callService("switch", "turn_on", {
      entity_id: "switch.front_door_privacy_mode",
    }),
  );
  await page.waitForFunction(() => {
    const state = document.querySelector("home-assistant").hass.states["camera.front_door"];
    return state && state.attributes.privacy_mode === true;
  });
  check(true, "privacy mode is on");
  // The card refreshes its still every 10 s; then it shows the dark placeholder
  // where the camera picture had the grey street mask (read back from the pixels).
  await page.waitForFunction(
    () => {
      const find = (root) => {
        for (const el of root.querySelectorAll("*")) {
          if (el.tagName === "IMG" && el.src.includes("camera_proxy/camera.front_door")) {
            return el;
          }
          if (el.shadowRoot) {
            const found = find(el.shadowRoot);
            if (found) return found;
          }
        }
        return null;
      };
      const img = find(document);
      if (img === null || !img.complete || img.naturalWidth === 0) return false;
      const canvas = document.createElement("canvas");
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const context = canvas.getContext("2d");
      context.drawImage(img, 0, 0);
      const [r, g, b] = context.getImageData(
        Math.floor(img.naturalWidth * 0.1), Math.floor(img.naturalHeight * 0.1), 1, 1,
      ).data;
      return r < 60 && g < 60 && b < 60;
    },
    null,
    { timeout: 40000 },
  );
  check(true, "the dashboard shows the privacy placeholder");
  await page.screenshot({ path: join(shots, "privacy-mode.png") });
  await page.evaluate(() =>
    document.querySelector("home-assistant").hass.callService("switch", "turn_off", {
      entity_id: "switch.front_door_privacy_mode",
    }),
  );

  // The media browser, as a person opens it: Peephole → Front door → today.
  await page.goto(`${demo.url}/media-browser/browser`);
  await page.getByText("Peephole", { exact: true }).first().click();
  await page.getByText("Front door", { exact: true }).first().click();
  await page.locator("ha-media-player-browse").first().waitFor({ state: "attached" });
  await page.waitForTimeout(1000);
  const days = page.getByText(/^\d{4}-\d{2}-\d{2}$/);
  if (await days.count()) {
    await days.first().click();
    await page.waitForTimeout(1500);
  }
  await page.screenshot({ path: join(shots, "media-browser.png") });

  // The live view on a phone in the dark theme (privacy mode is off again).
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, colorScheme: "dark",
  });
  const mobile = await phone.newPage();
  mobile.setDefaultTimeout(60000);
  await logIn(mobile, demo);
  await mobile.locator("hui-picture-entity-card").first().waitFor({ state: "visible" });
  await openMoreInfo(mobile, MASKED);
  await waitForPlaying(mobile);
  const phoneVideo = mobile.locator("ha-more-info-dialog ha-hls-player video");
  let smooth = false;
  for (let i = 0; i < 15 && !smooth; i += 1) {
    // Screenshot while it plays on (not while the player waits for a part).
    const before = await phoneVideo.evaluate((v) => v.currentTime);
    await mobile.waitForTimeout(1000);
    smooth = await phoneVideo.evaluate((v, t) => v.currentTime - t > 0.8 && v.readyState === 4, before);
  }
  check(smooth, "the live stream plays on a phone too, after privacy mode went off");
  await mobile.screenshot({ path: join(shots, "live-stream-phone-dark.png") });
  await phone.close();
} finally {
  await browser.close();
}
