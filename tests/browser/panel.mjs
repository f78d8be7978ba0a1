// The Doorbell panel, the recipient's page and the card, in Debian's headless
// Chromium (playwright-core) against the running demo.
// Usage: node panel.mjs DEMO_JSON SCREENSHOT_DIR
// Exits non-zero (with a message) on the first failed check.
import { readFileSync, mkdirSync } from "node:fs";
import { createConnection } from "node:net";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { logIn } from "./login.mjs";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");
const [demoJson, shots] = process.argv.slice(2);
const demo = JSON.parse(readFileSync(demoJson, "utf8"));
mkdirSync(shots, { recursive: true });

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
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

// axe-core on one element (the panel, the card) or the whole page: no serious
// or critical finding. Returns the findings of lower impact, for the log.
async function accessible(page, what, selector = null) {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async (sel) => {
    const find = (root) => {
      const direct = root.querySelector(sel);
      if (direct) return direct;
      for (const el of root.querySelectorAll("*")) {
        if (el.shadowRoot) {
          const found = find(el.shadowRoot);
          if (found) return found;
        }
      }
      return null;
    };
    const context = sel ? find(document) : document;
    const result = await window.axe.run(context, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length,
      targets: v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)) }));
  }, selector);
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of violations) console.log(`note - axe ${what}: ${v.impact} ${v.id} (${v.nodes}) ${v.targets.join(" ")}`);
  check(bad.length === 0, `axe-core finds nothing serious or critical on ${what} (${bad.map((v) => v.id).join(", ")})`);
}

// Wait until the panel's shadow root has an element matching ``selector`` (or,
// with ``gone``, no longer has one).
async function inPanel(page, selector, gone = false) {
  await page.waitForFunction(({ sel, absent }) => {
    const find = (root) => root.querySelector("peephole-panel") || [...root.querySelectorAll("*")].map((e) => e.shadowRoot && find(e.shadowRoot)).find(Boolean);
    const found = find(document)?.shadowRoot.querySelector(sel);
    return absent ? !found : Boolean(found);
  }, { sel: selector, absent: gone });
}

async function serverKeeps(page) {
  return page.evaluate(async () => {
    const hass = document.querySelector("home-assistant").hass;
    const answer = await hass.callWS({ type: "peephole/timeline", day: new Date().toISOString().slice(0, 10) });
    return answer.clips.length ? answer.clips[0].keep : null;
  });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
  ],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(60000);
  const errors = [];
  page.on("pageerror", (err) => errors.push(String(err.stack || err)));
  // Every websocket frame, to check that no picture or clip comes over it.
  const binaryOverWebsocket = [];
  page.on("websocket", (socket) => socket.on("framereceived", ({ payload }) => {
    const text = String(payload);
    if (text.includes("/9j/") || text.includes("ftyp") || text.includes("UEsDB")) binaryOverWebsocket.push(text.slice(0, 80));
  }));
  await logIn(page, demo);
  check(true, "logged in as the demo user (an administrator)");

  // A recipient, named in the doorbell's options as the owner does (the options
  // flow, through Home Assistant's REST API with the logged-in user's token).
  const added = await page.evaluate(async () => {
    const hass = document.querySelector("home-assistant").hass;
    const entry = (await hass.callWS({ type: "peephole/panel/doorbells" })).doorbells[0].entry_id;
    const post = async (path, body) => {
      const response = await hass.fetchWithAuth(path, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      return response.json();
    };
    let step = await post("/api/config/config_entries/options/flow", { handler: entry });
    step = await post(`/api/config/config_entries/options/flow/${step.flow_id}`, { next_step_id: "add_recipient" });
    step = await post(`/api/config/config_entries/options/flow/${step.flow_id}`, {
      name: "Neighbour", clips: true, snapshots: false, max_expiry_hours: 48, remote: false,
    });
    return step.type;
  });
  check(added === "create_entry", `a recipient is named in the options (${added})`);
  await page.locator('a[href="/peephole"]').first().waitFor({ state: "attached" });
  check(true, "the sidebar lists the Doorbell panel");
  check(await page.locator('a[href="/peephole-zones"]').count() === 0, "the old Privacy zones panel is gone");
  await page.goto(`${demo.url}/peephole`);
  const panel = page.locator("peephole-panel");
  await panel.locator("#clips").waitFor({ state: "attached" });
  check(true, "the panel opens on the timeline");

  // A ring: its clip appears on the timeline by itself (live update).
  const reply = await emulator("press");
  check(reply.startsWith("ok"), `the doorbell was pressed (${reply})`);
  const firstClip = panel.locator("li.clip").first();
  await firstClip.waitFor({ state: "visible", timeout: 120000 });
  check(true, "the ring's clip appeared on the timeline without a reload");
  await page.waitForFunction(() => {
    const find = (root) => root.querySelector("peephole-panel") || [...root.querySelectorAll("*")].map((e) => e.shadowRoot && find(e.shadowRoot)).find(Boolean);
    const p = find(document).shadowRoot;
    const shown = p.querySelectorAll("li.clip").length;
    return p.getElementById("summary").textContent.endsWith(`: ${shown}`);
  }, null, { timeout: 10000 }).catch(() => {});
  const summary = (await panel.locator("#summary").textContent()).trim();
  const shownClips = await panel.locator("li.clip").count();
  check(summary.endsWith(`: ${shownClips}`), `the day's count follows (${summary}, ${shownClips} shown)`);
  const trigger = (await firstClip.locator("h3 .chip").first().textContent()).trim();
  check(trigger === "Ring", `it says what triggered it (${trigger})`);
  await firstClip.locator(".thumb img").waitFor({ state: "visible" });
  const thumbnail = await firstClip.locator(".thumb img").evaluate((img) => ({ src: img.getAttribute("src"), width: img.naturalWidth }));
  check(thumbnail.src.includes("/api/peephole/clips/") && thumbnail.src.includes("authSig="),
    `the thumbnail is a signed path of the clip view (${thumbnail.src.split("?")[0]})`);
  await page.waitForFunction((el) => el.naturalWidth > 0, await firstClip.locator(".thumb img").elementHandle());
  await page.screenshot({ path: join(shots, "panel-timeline.png") });
  await accessible(page, "the panel's timeline", "peephole-panel");

  // Play in place.
  await firstClip.locator(".thumb").click();
  const video = panel.locator("li.clip .player video");
  await video.waitFor({ state: "visible" });
  await page.waitForFunction((el) => el.readyState >= 2 && el.videoWidth > 0, await video.elementHandle(), { timeout: 60000 });
  const played = await video.evaluate((el) => ({ width: el.videoWidth, duration: el.duration, src: el.getAttribute("src") }));
  check(played.width === 800 && played.duration > 5, `the clip plays in place (${played.width} px, ${played.duration.toFixed(1)} s)`);
  check(played.src.includes("authSig="), "from a signed path of the authenticated clip view");
  await firstClip.locator(".thumb").click(); // closes the player

  // Keyboard only: Tab reaches Keep, Space presses it.
  const keep = firstClip.locator('[data-action="keep"]');
  await keep.focus();
  await page.keyboard.press("Space");
  await inPanel(page, 'li.clip [data-action="keep"][aria-pressed="true"]');
  check(true, "Space on the focused Keep button keeps the clip");
  check(await serverKeeps(page) === true, "the clip is kept on the server too");
  // And Space again lets retention have it again (focus stays on the button).
  await page.keyboard.press("Space");
  await inPanel(page, 'li.clip [data-action="keep"][aria-pressed="false"]');
  check(await serverKeeps(page) === false, "Space again un-keeps it, on the server too");
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => {
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    return el ? el.dataset.action || el.tagName : null;
  });
  check(focused === "share", `Tab moves on to Share (${focused})`);

  // Share with Enter; the dialog traps focus and gives a link with a QR code.
  await page.keyboard.press("Enter");
  const dialog = panel.locator("dialog.share-dialog");
  await dialog.waitFor({ state: "visible" });
  check(true, "Enter opens the share dialog");
  const reach = (await dialog.locator(".reach").textContent()).trim();
  check(reach.startsWith("Local network only"), `the dialog says where the link works (${reach})`);
  await accessible(page, "the share dialog", "peephole-panel");
  for (let i = 0; i < 12; i += 1) await page.keyboard.press("Tab");
  const inside = await page.evaluate(() => {
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    return Boolean(el && el.closest("dialog"));
  });
  check(inside, "focus stays in the dialog (Tab does not leave it)");
  await dialog.locator("#share-create").click();
  await dialog.locator("#share-link").waitFor({ state: "visible" });
  const shown = await dialog.locator("#share-link").inputValue();
  // The link names Home Assistant's internal URL (this machine's network
  // address); the demo listens on the loopback only, so open it there.
  const parsed = new URL(shown, demo.url);
  const link = `${demo.url}${parsed.pathname}${parsed.search}`;
  check(/\/api\/peephole\/share\/[\w-]{22}\?token=/.test(shown), `the dialog gives the page's link (${parsed.pathname})`);
  check(await dialog.locator("svg.qr path").count() === 1, "and its QR code, drawn in the page");
  await page.screenshot({ path: join(shots, "panel-share.png") });
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  check(true, "Escape closes the dialog");
  await panel.locator("li.clip .chip.shared").first().waitFor();
  check(true, "the timeline shows the clip is shared");

  // The recipient: another browser, no Home Assistant login.
  const stranger = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const recipient = await stranger.newPage();
  recipient.setDefaultTimeout(60000);
  const opened = await recipient.goto(link);
  check(opened.status() === 200, "the link opens without a login");
  const headers = opened.headers();
  check(headers["content-security-policy"].startsWith("default-src 'none'"), "under a strict Content-Security-Policy");
  check(headers["referrer-policy"] === "no-referrer" && headers["x-robots-tag"].includes("noindex"), "no referrer, not indexed");
  const title = (await recipient.locator("h1").textContent()).trim();
  check(title === "Front door: shared with you", `it names the doorbell (${title})`);
  const external = await recipient.evaluate(() => performance.getEntriesByType("resource").map((e) => e.name).filter((n) => !n.startsWith(location.origin)));
  check(external.length === 0, "it loads nothing from anywhere else");
  // The page's policy blocks any injected script (axe-core's too): check it,
  // then run axe-core in a context that bypasses the policy.
  const injected = await recipient.addScriptTag({ content: "window.__x = 1" }).then(() => true, () => false);
  check(!injected, "the page's Content-Security-Policy blocks an injected script");
  const checker = await browser.newContext({ viewport: { width: 390, height: 844 }, bypassCSP: true });
  const checked = await checker.newPage();
  await checked.goto(link);
  await accessible(checked, "the recipient's page");
  await checked.emulateMedia({ colorScheme: "dark" });
  await accessible(checked, "the recipient's page, dark");
  await checker.close();
  const sharedVideo = recipient.locator("video").first();
  await sharedVideo.evaluate((el) => { el.muted = true; return el.play(); });
  await recipient.waitForFunction((el) => el.readyState >= 2 && el.currentTime > 0, await sharedVideo.elementHandle(), { timeout: 60000 });
  check(true, "the recipient watches the clip play");
  await recipient.screenshot({ path: join(shots, "share-page-phone.png"), fullPage: true });
  await recipient.emulateMedia({ colorScheme: "dark" });
  await recipient.screenshot({ path: join(shots, "share-page-phone-dark.png"), fullPage: true });
  await recipient.emulateMedia({ colorScheme: "light" });

  // Revoke from the Shares view (reached with the arrow keys on the tabs); the
  // page then refuses.
  await panel.locator("#tab-timeline").focus();
  await page.keyboard.press("ArrowRight");
  await page.waitForURL(/\/peephole\/shares$/);
  check(true, "the right arrow on the tabs opens the Shares view");
  const revoke = panel.locator('[data-action="revoke"]').first();
  await revoke.click();
  const confirm = panel.locator("dialog.peephole-dialog");
  await confirm.locator(".button.danger").click();
  await panel.locator(".message", { hasText: "revoked" }).waitFor();
  check(true, "the link is revoked from the Shares view");
  const refused = await recipient.goto(link);
  const refusedBody = await refused.body();
  const refusal = (await recipient.locator("h1").textContent()).trim();
  check(refused.status() === 404 && refusal === "This link is not available", `the page refuses (${refused.status()}: ${refusal})`);
  await recipient.screenshot({ path: join(shots, "share-page-refused-phone.png") });
  // A link that does not exist (a wrong token) gets the very same page.
  const forged = `${link.slice(0, -3)}${link.endsWith("abc") ? "xyz" : "abc"}`;
  const junk = await recipient.goto(forged);
  check(junk.status() === 404 && Buffer.compare(await junk.body(), refusedBody) === 0,
    "a wrong link gets the same page, byte for byte");
  await stranger.close();

  // Both openings of the page are in its audit.
  await panel.locator(".share details summary").first().click();
  await panel.locator(".share details table").first().waitFor();
  const rows = await panel.locator(".share details tbody tr").evaluateAll((trs) => trs.map((row) => ({
    outcome: row.cells[1].textContent.trim(), what: row.cells[3].textContent.trim() })));
  const pages = rows.filter((row) => row.what === "The page");
  check(pages.some((row) => row.outcome === "Allowed") && pages.some((row) => row.outcome === "Refused: revoked"),
    `both openings of the page are in its audit, allowed and refused (${pages.map((row) => row.outcome).join("; ")})`);
  check(rows.some((row) => row.outcome === "Allowed" && row.what.endsWith(".mp4")), "and the clip played between them");
  await page.screenshot({ path: join(shots, "panel-shares.png") });
  await accessible(page, "the Shares view", "peephole-panel");
  await panel.locator("#tab-shares").focus();
  await page.keyboard.press("ArrowRight");
  await page.waitForURL(/\/peephole\/audit$/);
  await panel.locator("#audit table").waitFor();
  const logged = await panel.locator("#audit tbody tr").evaluateAll((trs) => trs.map((row) => row.cells[2].textContent.trim()));
  check(logged.includes("Refused: revoked") && logged.includes("Allowed"), `the audit log has the link's openings (${logged.length})`);
  await panel.locator("#unknown-links tbody tr").first().waitFor();
  const unknown = await panel.locator("#unknown-links tbody tr").evaluateAll((trs) => trs.map((row) => row.cells[3].textContent.trim()));
  check(unknown.some((why) => why.includes("wrong token: 1")), `and the request for no link, counted (${unknown.join("; ")})`);
  await page.screenshot({ path: join(shots, "panel-audit.png") });
  await accessible(page, "the audit log", "peephole-panel");

  // Export (a download from the admin-only view), then delete with confirmation.
  await panel.locator("#tab-timeline").click();
  await panel.locator("li.clip").first().waitFor();
  const downloading = page.waitForEvent("download");
  await panel.locator('li.clip [data-action="export"]').first().click();
  const download = await downloading;
  const zipPath = await download.path();
  const zip = readFileSync(zipPath);
  check(zip.subarray(0, 2).toString() === "PK" && zip.length > 10000,
    `the export is downloaded as a zip (${download.suggestedFilename()}, ${zip.length} bytes)`);
  const before = await panel.locator("li.clip").count();
  await panel.locator('li.clip [data-action="delete"]').first().click();
  const ask = panel.locator("dialog.peephole-dialog");
  await ask.waitFor({ state: "visible" });
  await page.keyboard.press("Escape");
  await ask.waitFor({ state: "detached" });
  check(await panel.locator("li.clip").count() === before, "Escape cancels the deletion");
  await panel.locator('li.clip [data-action="delete"]').first().click();
  await panel.locator("dialog.peephole-dialog .button.danger").click();
  await page.waitForFunction((n) => {
    const find = (root) => root.querySelector("peephole-panel") || [...root.querySelectorAll("*")].map((e) => e.shadowRoot && find(e.shadowRoot)).find(Boolean);
    return find(document).shadowRoot.querySelectorAll("li.clip").length === n - 1;
  }, before);
  check(true, "the clip is deleted after the confirmation");
  check(binaryOverWebsocket.length === 0, "no picture, clip or zip came over the websocket");

  // The card on a dashboard of its own.
  await page.emulateMedia({ reducedMotion: "reduce" });
  await page.evaluate(async () => {
    const hass = document.querySelector("home-assistant").hass;
    await hass.callWS({ type: "lovelace/dashboards/create", url_path: "door-card", title: "Door", mode: "storage", show_in_sidebar: true, require_admin: false });
    await hass.callWS({ type: "lovelace/config/save", url_path: "door-card", config: {
      views: [{ title: "Door", cards: [{ type: "custom:peephole-doorbell-card", entity: "camera.front_door" }] }],
    } });
  });
  await emulator("press"); // a ring to show, and a clip for the strip
  await page.goto(`${demo.url}/door-card/0`);
  const card = page.locator("peephole-doorbell-card");
  await card.locator(".ring").waitFor();
  await page.waitForFunction(() => {
    const find = (root) => root.querySelector("peephole-doorbell-card") || [...root.querySelectorAll("*")].map((e) => e.shadowRoot && find(e.shadowRoot)).find(Boolean);
    const c = find(document);
    const img = c && c.shadowRoot.querySelector(".view img");
    return img && img.naturalWidth > 0;
  }, null, { timeout: 60000 });
  check(true, "the card shows the masked live view");
  const ring = (await card.locator(".ring").textContent()).trim();
  check(ring.startsWith("Rang at"), `the card says when it rang (${ring})`);
  await card.locator("ul.strip .thumb").first().waitFor({ timeout: 120000 });
  check(true, "the card lists the last clips");
  const privacy = card.locator("#privacy");
  check(await privacy.getAttribute("aria-checked") === "false", "the privacy switch is off");
  await page.screenshot({ path: join(shots, "card.png") });
  await accessible(page, "the card", "peephole-doorbell-card");
  await card.locator("ul.strip .thumb").first().click();
  await card.locator(".view video").waitFor();
  await page.waitForFunction(() => {
    const find = (root) => root.querySelector("peephole-doorbell-card") || [...root.querySelectorAll("*")].map((e) => e.shadowRoot && find(e.shadowRoot)).find(Boolean);
    const v = find(document).shadowRoot.querySelector(".view video");
    return v && v.readyState >= 2;
  }, null, { timeout: 60000 });
  check(true, "a thumbnail plays its clip in the card");
  await card.locator(".view .close").click();
  await privacy.focus();
  await page.keyboard.press("Space");
  await page.waitForFunction(() => document.querySelector("home-assistant").hass.states["switch.front_door_privacy_mode"].state === "on");
  check(true, "Space on the card's privacy switch turns privacy mode on");
  await page.keyboard.press("Space");
  await page.waitForFunction(() => document.querySelector("home-assistant").hass.states["switch.front_door_privacy_mode"].state === "off");

  // The card's visual editor, through the dashboard's own edit dialog.
  await page.goto(`${demo.url}/door-card/0?edit=1`);
  await page.locator("hui-card-options").getByRole("button", { name: "Edit" }).click();
  const editor = page.locator("peephole-doorbell-card-editor");
  await editor.waitFor();
  await editor.getByLabel("Title").waitFor();
  // (As it opens: a focused field's floating label is in the theme's primary
  // colour, Home Assistant's own text field style, not the editor's.)
  await accessible(page, "the card's visual editor", "peephole-doorbell-card-editor");
  await editor.getByLabel("Title").fill("Porch");
  await editor.getByLabel("Last clips to show").fill("3");
  const dialogCard = page.locator("hui-dialog-edit-card peephole-doorbell-card");
  await dialogCard.locator(".header h2", { hasText: "Porch" }).waitFor();
  check(true, "the visual editor changes the card's preview");
  await page.screenshot({ path: join(shots, "card-editor.png") });
  await page.locator("hui-dialog-edit-card").getByRole("button", { name: "Save" }).click();
  await editor.waitFor({ state: "detached" });
  const saved = await page.evaluate(async () => (await document.querySelector("home-assistant").hass.callWS({ type: "lovelace/config", url_path: "door-card" })).views[0].cards[0]);
  check(saved.title === "Porch" && saved.clips === 3 && saved.entity === "camera.front_door",
    `and saves it in the dashboard (${JSON.stringify(saved)})`);

  // Desktop, dark theme: the panel.
  const night = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "dark" });
  const desk = await night.newPage();
  desk.setDefaultTimeout(60000);
  desk.on("pageerror", (err) => errors.push(String(err.stack || err)));
  await logIn(desk, demo);
  await desk.goto(`${demo.url}/peephole`);
  await desk.locator("peephole-panel li.clip .thumb img").first().waitFor();
  await desk.waitForFunction(() => {
    const find = (root) => root.querySelector("peephole-panel") || [...root.querySelectorAll("*")].map((e) => e.shadowRoot && find(e.shadowRoot)).find(Boolean);
    return [...find(document).shadowRoot.querySelectorAll("li.clip .thumb img")].every((img) => img.complete && img.naturalWidth > 0);
  });
  await desk.screenshot({ path: join(shots, "panel-timeline-dark.png") });
  await accessible(desk, "the panel on a desktop, dark theme", "peephole-panel");
  await night.close();

  // Phone, dark theme: the panel and the card.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, colorScheme: "dark" });
  const mobile = await phone.newPage();
  mobile.setDefaultTimeout(60000);
  mobile.on("pageerror", (err) => errors.push(String(err.stack || err)));
  await logIn(mobile, demo);
  await mobile.goto(`${demo.url}/peephole`);
  await mobile.locator("peephole-panel li.clip").first().waitFor();
  await mobile.waitForTimeout(1000);
  const background = await mobile.locator("peephole-panel .card").first().evaluate((el) => getComputedStyle(el).backgroundColor);
  check(background !== "rgb(255, 255, 255)", `the panel follows the dark theme (${background})`);
  await mobile.screenshot({ path: join(shots, "panel-phone-dark.png") });
  await accessible(mobile, "the panel on a phone, dark theme", "peephole-panel");
  await mobile.goto(`${demo.url}/door-card/0`);
  await mobile.locator("peephole-doorbell-card ul.strip .thumb").first().waitFor({ timeout: 60000 });
  await mobile.waitForTimeout(1500);
  await mobile.screenshot({ path: join(shots, "card-phone-dark.png") });
  await accessible(mobile, "the card on a phone, dark theme", "peephole-doorbell-card");
  await phone.close();
  check(errors.length === 0, `no errors in the pages (${errors.join("; ")})`);
} finally {
  await browser.close();
}
