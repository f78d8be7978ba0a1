// Draw a privacy zone in the Doorbell panel's Zones view, in Debian's headless Chromium.
// Usage: node zones.mjs DEMO_JSON SCREENSHOT_DIR
// DEMO_JSON is the demo's state file ({url, username, password, control}).
// Exits non-zero (with a message) on the first failed check.
import { readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { logIn } from "./login.mjs";

const [demoJson, shots] = process.argv.slice(2);
const demo = JSON.parse(readFileSync(demoJson, "utf8"));
mkdirSync(shots, { recursive: true });

function check(condition, message) {
  if (!condition) {
    throw new Error(`check failed: ${message}`);
  }
  console.log(`ok - ${message}`);
}

// Wait until the editor shows its first snapshot. It comes from the emulated
// camera; on a busy machine that request can time out (502, "could not get a
// picture"), and the panel then says so: ask again with "New snapshot", as a
// person would (logged). Any other failure fails the test. ``answers`` holds the
// page's snapshot responses (none before the panel opened).
async function settleSnapshot(page, editor, name, answers) {
  let asked = 0; // answers before this attempt's request
  for (let attempt = 1; ; attempt += 1) {
    // Settled: the picture is shown, or the request is over (the button is enabled
    // again) and the panel reports an error.
    const settled = await page.waitForFunction((el) => {
      const root = el.shadowRoot;
      const img = root.getElementById("image");
      if (!img.hidden && img.complete && img.naturalWidth > 0) return "shown";
      const failed = root.getElementById("message").classList.contains("error");
      return failed && !root.getElementById("refresh").disabled ? "error" : false;
    }, await editor.elementHandle());
    if ((await settled.jsonValue()) === "shown") {
      const left = (await editor.locator("#message").textContent()).trim();
      check(left === "", `no error is left once the ${name} shows a snapshot (${left})`);
      return;
    }
    const said = (await editor.locator("#message").textContent()).trim();
    // The page may have shown the error before this script heard of the response.
    for (let waited = 0; answers.length <= asked && waited < 10000; waited += 50) {
      await page.waitForTimeout(50);
    }
    const { status } = answers.length > asked ? answers[answers.length - 1] : { status: "no answer" };
    console.log(`note - no snapshot on the ${name} (attempt ${attempt}, ${status}): ${said}`);
    check(status === 502, `the ${name}'s snapshot failed only as a camera timeout does (${status}: ${said})`);
    check(attempt < 3, `the ${name} gets a snapshot within 3 attempts (${said})`);
    asked = answers.length;
    const refresh = editor.locator("#refresh:enabled");
    await (name === "phone" ? refresh.tap() : refresh.click());
  }
}

// The new zone: a box on the porch, below the street zone the demo set up
// (normalized image coordinates, clicked in this order).
const DOOR = [[0.62, 0.66], [0.92, 0.66], [0.92, 0.94], [0.62, 0.94]];
const PROBE = [0.77, 0.8]; // inside DOOR, away from its block-rounded edges

// In the page: fetch a camera image with the logged-in user's token and
// return statistics of the pixels around (x, y) (normalized).
async function patchStats(page, source, [x, y]) {
  return page.evaluate(
    async ([src, px, py]) => {
      let blob;
      if (src.startsWith("data:") || src.startsWith("blob:")) {
        blob = await (await fetch(src)).blob();
      } else {
        const hass = document.querySelector("home-assistant").hass;
        const response = await fetch(`${src}?t=${Date.now()}`, {
          headers: { Authorization: `Bearer ${hass.auth.data.access_token}` },
          cache: "no-store",
        });
        if (!response.ok) {
          return { error: response.status };
        }
        blob = await response.blob();
      }
      const bitmap = await createImageBitmap(blob);
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const context = canvas.getContext("2d");
      context.drawImage(bitmap, 0, 0);
      const size = 12;
      const { data } = context.getImageData(
        Math.floor(bitmap.width * px) - size / 2, Math.floor(bitmap.height * py) - size / 2,
        size, size,
      );
      let sum = 0;
      let sumSq = 0;
      let maxDiff = 0;
      for (let i = 0; i < data.length; i += 4) {
        for (let c = 0; c < 3; c += 1) {
          sum += data[i + c];
          sumSq += data[i + c] * data[i + c];
          maxDiff = Math.max(maxDiff, Math.abs(data[i + c] - 128));
        }
      }
      const n = (data.length / 4) * 3;
      const mean = sum / n;
      return { mean, std: Math.sqrt(Math.max(0, sumSq / n - mean * mean)), maxDiff };
    },
    [source, x, y],
  );
}

const isGrey = (s) => s && s.maxDiff <= 4;

function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
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
  const pageErrors = [];
  // An uncaught error or rejection, with what the console said of it (a rejected
  // promise that is not an Error only says "Object" otherwise).
  const watchErrors = (target, name) => {
    target.on("pageerror", (err) => pageErrors.push(`${name}: ${err.stack || err}`));
    // What a rejection that is not an Error was (an error answer of Home
    // Assistant's websocket is a plain {code, message}).
    target.addInitScript(() => {
      window.addEventListener("unhandledrejection", (event) => {
        let reason;
        try {
          reason = JSON.stringify(event.reason);
        } catch (_err) {
          reason = String(event.reason);
        }
        console.error(`unhandled rejection: ${reason}`);
      });
    });
    target.on("console", async (msg) => {
      // (A revoked object URL fails to load: that is how objectUrlAlive tells.)
      if (msg.type() !== "error" || msg.text().includes("net::ERR_FILE_NOT_FOUND")) return;
      const args = await Promise.all(msg.args().map((arg) => arg.jsonValue().catch(() => "?")));
      console.log(`note - ${name} console.error: ${msg.text()} ${JSON.stringify(args)}`);
    });
    // Which websocket commands Home Assistant did not know (logged).
    target.on("websocket", (socket) => {
      const sent = new Map();
      socket.on("framesent", ({ payload }) => {
        try {
          const message = JSON.parse(String(payload));
          if (message.id !== undefined) sent.set(message.id, message.type);
        } catch (_err) { /* not JSON */ }
      });
      socket.on("framereceived", ({ payload }) => {
        if (!String(payload).includes("unknown_command")) return;
        for (const message of [JSON.parse(String(payload))].flat()) {
          if (message.error?.code === "unknown_command") {
            console.log(`note - ${name}: Home Assistant does not know the command ${sent.get(message.id)}`);
          }
        }
      });
    });
  };
  watchErrors(page, "desktop");
  // Every JPEG that comes over the websocket (base64 starts with /9j/): none may,
  // neither the unmasked snapshot nor the preview (masked only by draft zones):
  // both come over HTTP.
  const jpegOverWebsocket = [];
  page.on("websocket", (socket) => {
    socket.on("framereceived", ({ payload }) => {
      if (String(payload).includes("/9j/")) jpegOverWebsocket.push(Date.now());
    });
  });
  // The pictures' HTTP requests and responses.
  const snapshots = [];
  const previews = [];
  const previewRequests = [];
  page.on("request", (request) => {
    if (/\/api\/peephole\/zones\/[^/]+\/preview/.test(request.url())) {
      previewRequests.push({ method: request.method(), url: request.url(), body: request.postData() });
    }
  });
  page.on("response", (response) => {
    if (/\/api\/peephole\/zones\/[^/]+\/snapshot/.test(response.url())) {
      snapshots.push({ status: response.status(), headers: response.headers() });
    }
    if (/\/api\/peephole\/zones\/[^/]+\/preview/.test(response.url())) {
      previews.push({ status: response.status(), headers: response.headers() });
    }
  });
  // A picture the test holds back: the server has answered, the page gets the
  // answer only when the test releases it (as with a slow camera or network).
  const holds = { snapshot: null, preview: null };
  const hold = (kind) => {
    const held = { answered: deferred(), release: deferred(), fulfilled: deferred(), status: 0 };
    holds[kind] = held;
    return held;
  };
  await page.route(/\/api\/peephole\/zones\/[^/?]+\/(snapshot|preview)(\?|$)/, async (route, request) => {
    const kind = /\/preview/.test(request.url()) ? "preview" : "snapshot";
    const held = holds[kind];
    if (!held) {
      await route.continue();
      return;
    }
    holds[kind] = null;
    const response = await route.fetch();
    held.status = response.status();
    held.answered.resolve();
    await held.release.promise;
    await route.fulfill({ response });
    held.fulfilled.resolve();
  });
  // The object URLs the editor makes (its pictures), and which it let go.
  await context.addInitScript(() => {
    const create = URL.createObjectURL.bind(URL);
    const revoke = URL.revokeObjectURL.bind(URL);
    const urls = { created: [], revoked: new Set() };
    window.__editorUrls = urls;
    URL.createObjectURL = (object) => {
      const url = create(object);
      if ((new Error().stack || "").includes("peephole-zone-editor")) urls.created.push(url);
      return url;
    };
    URL.revokeObjectURL = (url) => {
      urls.revoked.add(url);
      revoke(url);
    };
  });
  const editorUrls = () => page.evaluate(() => {
    const urls = window.__editorUrls;
    return { created: urls.created.length, live: urls.created.filter((u) => !urls.revoked.has(u)) };
  });
  // Whether an object URL still gives its picture (a revoked one does not).
  const objectUrlAlive = (src) => page.evaluate(async (url) => {
    try {
      await (await fetch(url)).blob();
      return true;
    } catch (_err) {
      return false;
    }
  }, src);
  // Wait until the editor has made ``count`` object URLs and keeps ``live`` of
  // them, or shows the last one it made (the checks after that then fail, saying so).
  const settleUrls = (count, live) => page.waitForFunction(([c, l]) => {
    const urls = window.__editorUrls;
    if (urls.created.length !== c) return false;
    const shown = window.__editor.shadowRoot.getElementById("image").getAttribute("src");
    return urls.created.filter((u) => !urls.revoked.has(u)).length === l || shown === urls.created[c - 1];
  }, [count, live]);

  await logIn(page, demo);
  check(true, "logged in as the demo user");

  // The panel is in the sidebar, for this administrator.
  await page.locator('a[href="/peephole"]').first().waitFor({ state: "attached" });
  check(true, "the sidebar lists the Doorbell panel");
  await page.goto(`${demo.url}/peephole/zones`);
  const editor = page.locator("peephole-zone-editor");
  await editor.waitFor({ state: "attached" });
  const image = editor.locator("#image");
  await page.waitForFunction(() => {
    const el = document.querySelector("home-assistant");
    const find = (root) => {
      for (const node of root.querySelectorAll("*")) {
        if (node.tagName === "PEEPHOLE-ZONE-EDITOR") return node;
        if (node.shadowRoot) {
          const found = find(node.shadowRoot);
          if (found) return found;
        }
      }
      return null;
    };
    const panel = find(el.shadowRoot);
    window.__editor = panel;
    return panel !== null;
  });
  await settleSnapshot(page, editor, "desktop", snapshots);
  check(true, "the editor shows a fresh snapshot");
  const names = await editor.locator("li input.name").evaluateAll((els) => els.map((e) => e.value));
  check(names.includes("Street"), `the demo's Street zone is listed (${names.join(", ")})`);
  const polygons = await editor.locator("svg.overlay polygon").count();
  check(polygons === 1, "the Street zone is drawn on the snapshot");
  // The editor's snapshot is the unmasked source: the street is not grey in it.
  const snapshotSrc = await image.getAttribute("src");
  check(snapshotSrc.startsWith("blob:"), `the snapshot is an in-memory picture, an object URL (${snapshotSrc})`);
  const snapshotType = await page.evaluate(async (src) => (await (await fetch(src)).blob()).type, snapshotSrc);
  check(snapshotType === "image/jpeg", `the snapshot is a JPEG (${snapshotType})`);
  const served = snapshots[snapshots.length - 1];
  check(
    served && served.status === 200 && served.headers["cache-control"] === "no-store"
      && served.headers["content-type"] === "image/jpeg",
    `the snapshot came over HTTP, not to be stored (${JSON.stringify(served)})`,
  );

  // Before: the porch is not masked on the live camera.
  const before = await patchStats(page, "/api/camera_proxy/camera.front_door", PROBE);
  check(before && !before.error && !isGrey(before), `the porch is visible before (${JSON.stringify(before)})`);

  // Draw a new zone with the mouse: add it, click its corners, name it.
  await editor.locator("#add").click();
  const box = await editor.locator("svg.overlay").boundingBox();
  for (const [x, y] of DOOR) {
    await page.mouse.click(box.x + x * box.width, box.y + y * box.height);
  }
  const count = await editor.locator("li.selected .count").textContent();
  check(count.trim() === "4 corners", `four corners were clicked (${count.trim()})`);
  // Drag the last corner a little further down and back (pointer events).
  const [lx, ly] = DOOR[3];
  await page.mouse.move(box.x + lx * box.width, box.y + ly * box.height);
  await page.mouse.down();
  await page.mouse.move(box.x + (lx - 0.02) * box.width, box.y + (ly + 0.02) * box.height, { steps: 5 });
  await page.mouse.up();
  const name = editor.locator("li.selected input.name");
  await name.fill("Front step");
  check(await editor.locator("svg.overlay polygon").count() === 2, "the new zone is drawn");
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(shots, "zone-editor.png") });

  check(jpegOverWebsocket.length === 0, "no picture came over the websocket before the preview");
  // Preview: the integration masks a fresh frame with the draft zones.
  await editor.locator("#preview").click();
  await page.waitForFunction(() => {
    const img = window.__editor.shadowRoot.getElementById("image");
    return window.__editor.shadowRoot.getElementById("preview").getAttribute("aria-pressed") === "true"
      && img.complete && img.naturalWidth > 0;
  });
  check(jpegOverWebsocket.length === 0, "the preview did not come over the websocket either");
  const previewSrc = await image.getAttribute("src");
  check(previewSrc.startsWith("blob:") && previewSrc !== snapshotSrc,
    `the preview is an in-memory picture, an object URL (${previewSrc})`);
  const asked = previewRequests[previewRequests.length - 1];
  const sent = asked && JSON.parse(asked.body || "{}");
  check(
    asked && asked.method === "POST" && !asked.url.includes("?")
      && sent.zones.map((z) => z.name).join(",") === "Street,Front step",
    `the draft zones were posted, not put in the address (${asked && asked.method} ${asked && asked.url})`,
  );
  const previewServed = previews[previews.length - 1];
  check(
    previewServed && previewServed.status === 200 && previewServed.headers["cache-control"] === "no-store"
      && previewServed.headers["content-type"] === "image/jpeg",
    `the preview came over HTTP, not to be stored (${JSON.stringify(previewServed)})`,
  );
  check((await editorUrls()).live.length === 2, "the editor holds the snapshot and the preview");
  const previewStats = await patchStats(page, previewSrc, PROBE);
  check(isGrey(previewStats), `the preview masks the new zone (${JSON.stringify(previewStats)})`);
  const streetPreview = await patchStats(page, await image.getAttribute("src"), [0.5, 0.2]);
  check(isGrey(streetPreview), "the preview masks the street");
  await page.screenshot({ path: join(shots, "zone-editor-preview.png") });

  // Save, then the live camera is masked there.
  await editor.locator("#save").click();
  await editor.locator("#message.ok").waitFor();
  check(true, `saved (${(await editor.locator("#message").textContent()).trim()})`);
  let after = null;
  for (let i = 0; i < 20 && !isGrey(after); i += 1) {
    after = await patchStats(page, "/api/camera_proxy/camera.front_door", PROBE);
    if (!isGrey(after)) await page.waitForTimeout(500);
  }
  check(isGrey(after), `the live camera is masked in the new zone (${JSON.stringify(after)})`);
  const zones = await page.evaluate(async () => {
    const hass = document.querySelector("home-assistant").hass;
    return (await hass.callWS({ type: "peephole/zones/list" })).entries[0].zones;
  });
  check(
    zones.map((z) => z.name).join(",") === "Street,Front step",
    `the entry's options hold both zones (${zones.map((z) => z.name).join(", ")})`,
  );
  const attributes = await page.evaluate(
    () => document.querySelector("home-assistant").hass.states["camera.front_door"].attributes.zones,
  );
  check(attributes && attributes["Front step"] === true, "the camera's zones attribute shows the new zone");
  await editor.locator("#preview[aria-pressed=true]").click(); // back to the drawing
  check(!(await objectUrlAlive(previewSrc)), "the preview's object URL is revoked when it is put away");

  // Another doorbell chosen while a preview is on its way: its answer (the first
  // doorbell's picture) is dropped, never shown as the other's.
  const frontDoor = await page.evaluate(() => window.__editor._entryId);
  await page.evaluate(() => {
    const ed = window.__editor;
    ed._entries.push({
      entry_id: "other-doorbell", title: "Back door", state: "not_loaded", loaded: false,
      privacy_mode: false, camera_entity_id: null, zones: [],
    });
    const option = document.createElement("option");
    option.value = "other-doorbell";
    option.textContent = "Back door (not_loaded)";
    ed.shadowRoot.getElementById("entry").append(option);
  });
  let urls = await editorUrls();
  let held = hold("preview");
  await editor.locator("#preview").click();
  await held.answered.promise;
  check(held.status === 200, "the server answered the preview (held back from the page)");
  await editor.locator("#entry").selectOption("other-doorbell");
  held.release.resolve();
  await held.fulfilled.promise;
  await settleUrls(urls.created + 1, 0);
  let state = await page.evaluate(() => {
    const ed = window.__editor;
    const root = ed.shadowRoot;
    return {
      preview: ed._preview, src: root.getElementById("image").getAttribute("src"),
      pressed: root.getElementById("preview").getAttribute("aria-pressed"),
    };
  });
  check(state.preview === null && state.src === null && state.pressed === "false",
    `a preview that comes after another doorbell was chosen is dropped (${JSON.stringify(state)})`);
  check(true, "and its object URL is revoked");
  await editor.locator("#entry").selectOption(frontDoor);
  await page.evaluate(() => {
    window.__editor.shadowRoot.querySelector('#entry option[value="other-doorbell"]').remove();
    window.__editor._entries = window.__editor._entries.filter((e) => e.entry_id !== "other-doorbell");
  });
  await page.waitForFunction(() => {
    const img = window.__editor.shadowRoot.getElementById("image");
    return !img.hidden && img.complete && img.naturalWidth > 0;
  });
  check(true, "back on the first doorbell, a fresh snapshot");

  // An invalid zone gets the options flow's translated error, and nothing is saved.
  await editor.locator("#add").click();
  for (const [x, y] of [[0.1, 0.7], [0.3, 0.7], [0.2, 0.9]]) {
    await page.mouse.click(box.x + x * box.width, box.y + y * box.height);
  }
  await editor.locator("li.selected input.name").fill("street");
  await editor.locator("#save").click();
  await editor.locator("#message.error").waitFor();
  const message = (await editor.locator("#message").textContent()).trim();
  check(message === "There is already a zone called street.", `a duplicate name is refused: ${message}`);
  await editor.locator("#discard").click();

  // A refused snapshot (privacy mode) says why; the next one that works clears that,
  // and the old picture's object URL is let go.
  const privacy = (service) => page.evaluate(
    (name) => document.querySelector("home-assistant").hass.callService("switch", name, {
      entity_id: "switch.front_door_privacy_mode",
    }),
    service,
  );
  const firstSrc = await image.getAttribute("src");
  // A new snapshot and a preview on their way, answered by the server before
  // privacy mode comes on: neither may be shown once it is on.
  urls = await editorUrls();
  const heldSnapshot = hold("snapshot");
  const heldPreview = hold("preview");
  await editor.locator("#preview").click();
  await editor.locator("#refresh").click();
  await heldSnapshot.answered.promise;
  await heldPreview.answered.promise;
  check(heldSnapshot.status === 200 && heldPreview.status === 200,
    "the server answered a snapshot and a preview before privacy mode (held back from the page)");
  // Privacy mode turned on elsewhere: the picture on screen goes at once, by itself.
  await privacy("turn_on");
  await page.waitForFunction(() => {
    const root = window.__editor.shadowRoot;
    return root.getElementById("image").hidden && !root.getElementById("image").hasAttribute("src");
  });
  check(true, "privacy mode takes the picture off the screen at once");
  check(!(await objectUrlAlive(firstSrc)), "and lets its object URL go");
  heldSnapshot.release.resolve();
  heldPreview.release.resolve();
  await heldSnapshot.fulfilled.promise;
  await heldPreview.fulfilled.promise;
  await settleUrls(urls.created + 2, 0);
  state = await page.evaluate(() => {
    const ed = window.__editor;
    const root = ed.shadowRoot;
    return {
      image: ed._image, preview: ed._preview, hidden: root.getElementById("image").hidden,
      src: root.getElementById("image").getAttribute("src"),
    };
  });
  check(state.image === null && state.preview === null && state.hidden && state.src === null,
    `a snapshot or preview that arrives once privacy mode is on is not shown (${JSON.stringify(state)})`);
  // (The duplicate-name error may still be showing: wait for the new one.)
  await editor.locator("#message.error", { hasText: "privacy mode" }).waitFor();
  let refused = (await editor.locator("#message").textContent()).trim();
  check(refused.includes("privacy mode"), `the panel says why: ${refused}`);
  // The same error stays on screen while the next snapshot is asked for, so
  // wait for the server's answer and for the panel to be done with it.
  const refusal = page.waitForResponse((response) => /\/api\/peephole\/zones\/[^/]+\/snapshot/.test(response.url()));
  await editor.locator("#refresh:enabled").click();
  const refusedResponse = await refusal;
  await editor.locator("#refresh:enabled").waitFor();
  refused = (await editor.locator("#message").textContent()).trim();
  check(refused.includes("privacy mode"), `a snapshot in privacy mode is refused: ${refused}`);
  check(refusedResponse.status() === 409, `with a translated error over HTTP (${refusedResponse.status()})`);
  await privacy("turn_off");
  await editor.locator("#refresh:enabled").click();
  await page.waitForFunction(
    (old) => {
      const root = window.__editor.shadowRoot;
      const img = root.getElementById("image");
      return img.getAttribute("src") !== old && img.complete && img.naturalWidth > 0
        && !root.getElementById("refresh").disabled;
    },
    firstSrc,
  );
  const cleared = (await editor.locator("#message").textContent()).trim();
  check(cleared === "", `a new snapshot clears the old error (message: "${cleared}")`);
  const secondSrc = await image.getAttribute("src");
  check(secondSrc.startsWith("blob:"), "the new snapshot is an object URL too");
  check(!(await objectUrlAlive(firstSrc)), "the replaced snapshot's object URL is revoked");
  check(await objectUrlAlive(secondSrc), "the shown snapshot's object URL is alive");

  check(pageErrors.length === 0, `no errors in the page (${pageErrors.join("; ")})`);

  // Leaving the panel (in the app, no page load) lets go of the picture, and of a
  // preview still on its way when it comes.
  urls = await editorUrls();
  held = hold("preview");
  await editor.locator("#preview").click();
  await held.answered.promise;
  await page.evaluate(() => {
    window.history.pushState(null, "", "/lovelace");
    window.dispatchEvent(new CustomEvent("location-changed", { detail: { replace: false } }));
  });
  await page.waitForFunction(() => !window.__editor.isConnected);
  check(!(await objectUrlAlive(secondSrc)), "leaving the panel revokes the snapshot's object URL");
  held.release.resolve();
  await held.fulfilled.promise;
  await settleUrls(urls.created + 1, 0);
  state = await page.evaluate(() => ({
    preview: window.__editor._preview,
    src: window.__editor.shadowRoot.getElementById("image").getAttribute("src"),
  }));
  check(state.preview === null && state.src === null,
    `a preview that comes after the panel closed is dropped (${JSON.stringify(state)})`);
  const left = await editorUrls();
  check(left.live.length === 0 && left.created > 0,
    `every picture the editor made is let go (${left.created} object URLs, ${left.live.length} alive)`);
  check(jpegOverWebsocket.length === 0, "no picture ever came over the websocket");

  // A phone in the dark: one column, the dark theme, corners placed by tapping.
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, colorScheme: "dark",
  });
  const mobile = await phone.newPage();
  mobile.setDefaultTimeout(60000);
  watchErrors(mobile, "phone");
  const phoneSnapshots = [];
  mobile.on("response", (response) => {
    if (/\/api\/peephole\/zones\/[^/]+\/snapshot/.test(response.url())) {
      phoneSnapshots.push({ status: response.status() });
    }
  });
  // What the phone session went through, printed if the panel does not come.
  const phoneLog = [];
  const note = (text) => phoneLog.push(text);
  mobile.on("console", (msg) => {
    if (msg.type() === "error" || msg.type() === "warning") note(`console.${msg.type()}: ${msg.text()}`);
  });
  mobile.on("requestfailed", (req) => note(`request failed: ${req.method()} ${req.url()} ${req.failure()?.errorText}`));
  mobile.on("framenavigated", (frame) => {
    if (frame === mobile.mainFrame()) note(`at ${frame.url()}`);
  });
  // Logged in: not only at /lovelace, but with the login kept (see login.mjs), so
  // that going straight to the panel's address does not land on the login form.
  await logIn(mobile, demo);
  check(true, "logged in on a phone");
  await mobile.goto(`${demo.url}/peephole/zones`);
  const small = mobile.locator("peephole-zone-editor");
  try {
    await small.waitFor({ state: "attached" });
  } catch (err) {
    console.log(phoneLog.map((line) => `note - phone: ${line}`).join("\n"));
    throw err;
  }
  check(true, "the panel opens on a phone");
  await settleSnapshot(mobile, small, "phone", phoneSnapshots);
  check(true, "the phone shows a snapshot");
  await small.locator("#add").tap();
  const area = await small.locator("svg.overlay").boundingBox();
  for (const [x, y] of [[0.1, 0.7], [0.3, 0.7], [0.2, 0.9]]) {
    await mobile.touchscreen.tap(area.x + x * area.width, area.y + y * area.height);
  }
  const tapped = (await small.locator("li.selected .count").textContent()).trim();
  check(tapped === "3 corners", `three corners were tapped on a phone (${tapped})`);
  const columns = await small.evaluate(
    (el) => getComputedStyle(el.shadowRoot.querySelector(".content")).gridTemplateColumns.split(" ").length,
  );
  check(columns === 1, "the phone layout has one column");
  const background = await small.evaluate(
    (el) => getComputedStyle(el.shadowRoot.querySelector(".card")).backgroundColor,
  );
  check(background !== "rgb(255, 255, 255)", `the dark theme applies (card ${background})`);
  await mobile.waitForTimeout(500);
  await mobile.screenshot({ path: join(shots, "zone-editor-phone-dark.png"), fullPage: true });
  await phone.close();
  check(pageErrors.length === 0, `no errors in the pages (${pageErrors.join("; ")})`);
} finally {
  await browser.close();
}
