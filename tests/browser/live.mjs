// The masked camera's live view in Home Assistant's own frontend: the camera's
// more-info dialog (ha-camera-stream), which plays HLS from HA's stream component
// (ha-hls-player) for a camera that offers a stream, and falls back to the MJPEG
// stream (an <img>) for one that does not. Shared helpers for demo.mjs.

const VIDEO = "ha-more-info-dialog ha-hls-player video";

// Every /api/hls/ response the page gets from now on: { at, status, path }.
export function watchHls(page) {
  const responses = [];
  page.on("response", (response) => {
    const url = new URL(response.url());
    if (url.pathname.startsWith("/api/hls/")) {
      responses.push({ at: Date.now(), status: response.status(), path: url.pathname });
    }
  });
  return responses;
}

export async function openMoreInfo(page, entityId) {
  await page.evaluate((id) => {
    document.querySelector("home-assistant").dispatchEvent(
      new CustomEvent("hass-more-info", { detail: { entityId: id }, bubbles: true, composed: true }),
    );
  }, entityId);
  await page.locator("ha-more-info-dialog").waitFor({ state: "attached" });
}

// Wait until the dialog's HLS <video> has pictures and plays; return its currentTime.
export async function waitForPlaying(page, timeout = 60000) {
  const video = page.locator(VIDEO);
  await video.waitFor({ state: "attached", timeout });
  const handle = await video.elementHandle();
  await page.waitForFunction(
    (v) => v.readyState >= 2 && v.currentTime > 0 && !v.paused, handle, { timeout },
  );
  return video.evaluate((v) => v.currentTime);
}

// Draw the playing <video> into a canvas `count` times, `every` ms apart. For each
// picture: its currentTime, the zone's (rows above `zoneBottom`, a fraction of the
// height, less a margin of 8 px for the codec's block edges) minimum, maximum and
// mean over R, G and B, and a coarse grey copy (every 4th pixel) of the rest of
// the picture (below the zone, the same margin), to compare pictures with.
export async function grabFrames(page, { count, every, zoneBottom }) {
  const frames = [];
  for (let i = 0; i < count; i += 1) {
    frames.push(await page.locator(VIDEO).evaluate((v, bottom) => {
      const w = v.videoWidth;
      const h = v.videoHeight;
      const canvas = document.createElement("canvas");
      canvas.width = w;
      canvas.height = h;
      const context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(v, 0, 0);
      const data = context.getImageData(0, 0, w, h).data; // throws if tainted
      const zoneEnd = Math.floor(h * bottom) - 8;
      const restStart = Math.ceil(h * bottom) + 8;
      let min = 255;
      let max = 0;
      let sum = 0;
      for (let y = 0; y < zoneEnd; y += 1) {
        for (let x = 0; x < w; x += 1) {
          const at = (y * w + x) * 4;
          for (let k = 0; k < 3; k += 1) {
            const value = data[at + k];
            if (value < min) min = value;
            if (value > max) max = value;
            sum += value;
          }
        }
      }
      const rest = [];
      for (let y = restStart; y < h; y += 4) {
        for (let x = 0; x < w; x += 4) {
          const at = (y * w + x) * 4;
          rest.push((data[at] + data[at + 1] + data[at + 2]) / 3);
        }
      }
      return { time: v.currentTime, width: w, height: h, min, max, mean: sum / (zoneEnd * w * 3), rest };
    }, zoneBottom));
    await page.waitForTimeout(every);
  }
  return frames;
}

// The largest change of one sampled pixel of the rest of the picture between two grabs.
export function restChange(a, b) {
  let most = 0;
  for (let i = 0; i < a.rest.length; i += 1) {
    most = Math.max(most, Math.abs(a.rest[i] - b.rest[i]));
  }
  return most;
}

// The colour [R, G, B] of an <img>'s pixel at (fx, fy), fractions of its size.
export async function imagePixel(image, fx, fy) {
  return image.evaluate((img, [x, y]) => {
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const context = canvas.getContext("2d");
    context.drawImage(img, 0, 0);
    return Array.from(context.getImageData(
      Math.floor(img.naturalWidth * x), Math.floor(img.naturalHeight * y), 1, 1,
    ).data.slice(0, 3));
  }, [fx, fy]);
}

// The dialog's MJPEG <img> (ha-camera-stream's fallback without a stream), once it
// shows a picture: the colour of its pixel at (10 %, 10 %), or null until then.
export async function dialogStillPixel(page) {
  const handle = await page.evaluateHandle(() => {
    const deepFind = (root, wanted) => {
      for (const el of root.querySelectorAll("*")) {
        if (wanted(el)) return el;
        if (el.shadowRoot) {
          const found = deepFind(el.shadowRoot, wanted);
          if (found) return found;
        }
      }
      return null;
    };
    const dialog = deepFind(document, (el) => el.tagName === "HA-MORE-INFO-DIALOG");
    if (dialog === null || deepFind(dialog.shadowRoot, (el) => el.tagName === "HA-HLS-PLAYER")) {
      return null;
    }
    const img = deepFind(
      dialog.shadowRoot,
      (el) => el.tagName === "IMG" && el.src.includes("/api/camera_proxy_stream/"),
    );
    return img === null || !img.complete || img.naturalWidth === 0 ? null : img;
  });
  const img = handle.asElement();
  try {
    return img === null ? null : await imagePixel(img, 0.1, 0.1);
  } finally {
    await handle.dispose();
  }
}
