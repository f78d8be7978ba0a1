// Peephole: the share dialog (panel and card). Offers only the recipients whose
// rule allows clips of this doorbell (chosen by identity: a link belongs to the
// recipient, not to a name), an expiry and a view limit within that rule, says
// plainly whether the link works on the local network only or also from outside,
// and gives the link of the recipient's page with a copy button and a QR code
// drawn here.

import { errorText, h, openDialog, qrSvg } from "./peephole-common.js";

// Open the dialog for ``clipIds`` of ``entryId``; resolves with the new share
// (or undefined when cancelled).
export async function shareClips(root, hass, t, { entryId, clipIds, describe }) {
  let recipients = [];
  try {
    const answer = await hass.callWS({ type: "peephole/shares/recipients", entry_id: entryId, language: hass.language });
    // (Only those whose rule allows this doorbell's clips come.)
    recipients = answer.recipients;
  } catch (err) {
    recipients = [];
    return openDialog(root, {
      title: t("share_title"),
      build: (close) => h("div", {},
        h("p", { class: "message error", role: "alert" }, errorText(err)),
        h("div", { class: "dialog-actions" }, h("button", { class: "button", onclick: () => close() }, t("close")))),
    });
  }
  // The share made (also when the dialog is then closed with Escape).
  const made = {};
  const closed = await openDialog(root, {
    title: t("share_title"),
    className: "share-dialog",
    build: (close) => {
      const body = h("div", { class: "share-body" });
      if (!recipients.length) {
        body.append(
          h("p", {}, t("share_no_recipients")),
          h("div", { class: "dialog-actions" },
            h("a", { class: "button", href: "/config/integrations/integration/peephole" }, t("manage_recipients")),
            h("button", { class: "button primary", onclick: () => close() }, t("close"))),
        );
        return body;
      }
      body.append(h("p", { class: "muted" }, describe));
      const select = h("select", { id: "share-recipient" },
        recipients.map((r) => h("option", { value: r.id }, r.name)));
      const expiry = h("input", { id: "share-expiry", type: "number", min: "1", step: "1", inputmode: "numeric" });
      const expiryHint = h("p", { class: "hint", id: "share-expiry-hint" });
      expiry.setAttribute("aria-describedby", expiryHint.id);
      const views = h("input", { id: "share-views", type: "number", min: "1", step: "1", inputmode: "numeric" });
      const viewsHint = h("p", { class: "hint", id: "share-views-hint" });
      views.setAttribute("aria-describedby", viewsHint.id);
      const remote = h("input", { id: "share-remote", type: "checkbox" });
      const remoteLabel = h("label", { for: "share-remote" }, t("share_allow_remote"));
      const reach = h("p", { class: "reach", role: "status" });
      const message = h("p", { class: "message", role: "alert" });
      const result = h("div", { class: "share-result" });
      const create = h("button", { class: "button primary", id: "share-create" }, t("share_create"));
      let created;
      const cancel = h("button", { class: "button", onclick: () => close(created) }, t("cancel"));
      const rule = () => recipients.find((r) => r.id === select.value);
      const update = () => {
        const r = rule();
        const maxHours = Math.max(1, Math.floor(r.max_expiry_hours));
        expiry.max = String(maxHours);
        expiry.value = String(Math.min(Number(expiry.value) || Math.min(24, maxHours), maxHours));
        expiryHint.textContent = t("share_expiry_hint", { max: maxHours });
        views.max = r.max_views ? String(r.max_views) : "1000";
        views.placeholder = r.max_views ? String(r.max_views) : t("share_no_limit");
        if (r.max_views && Number(views.value) > r.max_views) views.value = String(r.max_views);
        viewsHint.textContent = r.max_views ? t("share_views_hint", { max: r.max_views }) : t("share_views_unlimited");
        remote.disabled = !r.remote;
        if (!r.remote) remote.checked = false;
        remoteRow.hidden = !r.remote;
        reach.textContent = remote.checked ? t("share_reach_remote") : t("share_reach_local");
        reach.className = `reach ${remote.checked ? "remote" : "local"}`;
      };
      const remoteRow = h("div", { class: "field checkbox" }, h("div", { class: "row" }, remote, remoteLabel));
      select.addEventListener("change", update);
      remote.addEventListener("change", update);
      create.addEventListener("click", async () => {
        create.disabled = true;
        message.textContent = "";
        const request = {
          type: "peephole/shares/create", entry_id: entryId, recipient_id: select.value, clip_ids: clipIds,
          expires_in: Number(expiry.value), allow_remote: remote.checked, language: hass.language,
        };
        if (views.value) request.max_views = Number(views.value);
        try {
          const share = await hass.callWS(request);
          form.hidden = true;
          create.hidden = true;
          cancel.textContent = t("done");
          showLink(result, t, share);
          result.dataset.shareId = share.share_id;
          created = share;
          made.share = share;
        } catch (err) {
          message.textContent = errorText(err);
          create.disabled = false;
        }
      });
      const form = h("div", { class: "share-form" },
        h("div", { class: "field" }, h("label", { for: "share-recipient" }, t("share_recipient")), select),
        h("div", { class: "field" }, h("label", { for: "share-expiry" }, t("share_expiry")), expiry, expiryHint),
        h("div", { class: "field" }, h("label", { for: "share-views" }, t("share_views")), views, viewsHint),
        remoteRow,
        reach);
      body.append(form, message, result, h("div", { class: "dialog-actions" }, cancel, create));
      update();
      queueMicrotask(() => select.focus());
      return body;
    },
  });
  return closed || made.share;
}

function showLink(result, t, share) {
  // The recipient's page (the raw file links are for scripts and notifications).
  const url = share.page_url;
  const field = h("input", { id: "share-link", type: "text", readonly: true, value: url });
  const copied = h("span", { class: "muted", role: "status" });
  const copy = h("button", {
    class: "button primary", id: "share-copy",
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(url);
      } catch (_err) {
        field.select();
        document.execCommand?.("copy");
      }
      copied.textContent = t("share_copied");
    },
  }, t("share_copy"));
  result.replaceChildren(
    h("p", { class: "reach-result" }, share.remote ? t("share_reach_remote") : t("share_reach_local")),
    h("div", { class: "field" }, h("label", { for: "share-link" }, t("share_link")),
      h("div", { class: "row" }, field, copy), copied),
    qrSvg(url, t("share_qr")),
  );
  copy.focus();
}

export const SHARE_STYLE = `
  .share-dialog .row { display: flex; gap: 8px; align-items: center; }
  .share-dialog .row input[type="text"] { flex: 1 1 auto; min-width: 0; }
  .share-dialog .checkbox input { width: 20px; height: 20px; accent-color: var(--primary-color, #03a9f4); }
  .share-dialog .reach { font-weight: 500; padding: 8px 12px; border-radius: 8px; margin: 8px 0 0;
    background: rgba(var(--rgb-success-color, 67, 160, 71), 0.15); }
  .share-dialog .reach.remote { background: rgba(var(--rgb-warning-color, 255, 166, 0), 0.2); }
  .share-dialog [hidden] { display: none !important; }
`;
