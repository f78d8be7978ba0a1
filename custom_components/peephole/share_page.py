"""The page a recipient opens: ``GET /api/peephole/share/<share_id>?token=<jwt>``.

No Home Assistant login: the link's signed token (for the page, a resource no
file URL can name: ``sharing.PAGE_RESOURCE``) opens it, decided and audited by
the share registry like every file of the share (``ShareRegistry.async_access``:
an opening of the page is in the share's audit but is not a view; the clips it
plays are). A client that guesses page links is reported to Home Assistant's
failed-login machinery as for the file links (``share_view``). The page is self-contained HTML: one inline style (by
hash in a strict Content-Security-Policy), no script, no font or anything from
anywhere else, ``noindex``, no referrer, not cached. It says whose doorbell it
is, plays each clip (or shows the snapshot) from the share's own file links,
offers a download, says when the link ends and how many views are left, and
that the picture is privacy-masked and every opening recorded. It is written in
the browser's language where Peephole has a translation, in English otherwise.

An ended, revoked, used-up or wrong link gets one neutral page, byte for byte
the same whatever the reason (only the browser's language changes it); the
reason goes to the owner's audit.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
import hashlib
from html import escape
from http import HTTPStatus
from typing import Final

from aiohttp import web
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util

from .clips import clip_id_time, is_clip_id
from .const import DOMAIN
from .panel_views import async_request_language
from .share_access import effective_expiry, effective_view_limit
from .share_registry import (
    SHARE_URL_BASE,
    async_get_registry,
    loaded_entry,
    rule_for,
)
from .share_view import async_report_guess, is_cloud_request
from .sharing import (
    CLIP_RESOURCE_SUFFIX,
    PAGE_RESOURCE,
    Share,
    ShareKind,
    token_from_query,
)

STYLE: Final = """
:root{color-scheme:light dark;--bg:#fafafa;--fg:#212121;--muted:#5f6368;--card:#fff;--line:#dadce0;--accent:#03a9f4}
@media (prefers-color-scheme:dark){:root{--bg:#111;--fg:#e1e1e1;--muted:#a0a0a0;--card:#1c1c1c;--line:#333;--accent:#4fc3f7}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:760px;margin:0 auto;padding:16px}
h1{font-size:24px;font-weight:500;margin:8px 0 4px}
p{margin:4px 0}
.muted{color:var(--muted)}
.note{border-left:4px solid var(--accent);background:var(--card);padding:8px 12px;margin:12px 0;border-radius:4px}
ul{list-style:none;margin:16px 0;padding:0}
li{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:12px;margin:0 0 12px}
h2{font-size:16px;font-weight:500;margin:0 0 8px}
video,img{width:100%;height:auto;border-radius:8px;background:#000;display:block}
a.download{display:inline-block;margin-top:8px;padding:8px 16px;border-radius:18px;background:#0277bd;color:#fff;text-decoration:none;font-weight:500}
a.download:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
"""
STYLE_HASH: Final = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
CSP: Final = (
    "default-src 'none'; "
    f"style-src 'sha256-{STYLE_HASH}'; "
    "img-src 'self'; media-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Frame-Options": "DENY",
    "Content-Language": "",  # set per answer
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PageItem:
    """One clip (or the snapshot) of a share, as the page shows it."""

    title: str
    path: str
    download: str
    video: bool


def _document(language: str, title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="{escape(language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex,nofollow">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def render_page(
    strings: dict[str, str],
    language: str,
    *,
    doorbell: str,
    items: list[PageItem],
    ends: str,
    views_left: int | None,
) -> str:
    """Return the HTML of a share's page (pure: no Home Assistant)."""

    def t(key: str, **placeholders: object) -> str:
        text = strings.get(f"component.{DOMAIN}.ui.{key}", key)
        for name, value in placeholders.items():
            text = text.replace(f"{{{name}}}", str(value))
        return escape(text)

    views = (
        t("page_views_left", count=views_left)
        if views_left is not None
        else t("page_no_view_limit")
    )
    entries = []
    for item in items:
        media = (
            f'<video controls preload="none" playsinline src="{escape(item.path)}"'
            f' aria-label="{escape(item.title)}"></video>'
            if item.video
            else f'<img src="{escape(item.path)}" alt="{escape(item.title)}">'
        )
        entries.append(
            f"<li><h2>{escape(item.title)}</h2>{media}"
            f'<a class="download" href="{escape(item.path)}"'
            f' download="{escape(item.download)}"'
            f' aria-label="{t("page_download")} {escape(item.title)}">'
            f"{t('page_download')}</a></li>"
        )
    body = (
        f"<h1>{t('page_title', name=doorbell)}</h1>"
        f'<p class="muted">{t("page_ends", time=ends)} {views}</p>'
        f'<p class="note">{t("page_note_masked")} {t("page_note_audited")}</p>'
        f"<ul>{''.join(entries)}</ul>"
        f'<p class="muted">{t("page_views_note")}</p>'
    )
    return _document(language, t("page_title", name=doorbell), body)


def render_unavailable(strings: dict[str, str], language: str) -> str:
    """Return the one page of every refusal (pure: no Home Assistant)."""
    text = escape(
        strings.get(
            f"component.{DOMAIN}.ui.page_unavailable", "This link is not available"
        )
    )
    return _document(language, text, f"<h1>{text}</h1>")


def _local(moment: datetime) -> str:
    local = dt_util.as_local(moment)
    return f"{local:%Y-%m-%d %H:%M} ({local.tzname()})"


class SharePageView(HomeAssistantView):
    """The recipient's page of a share."""

    url = SHARE_URL_BASE + "/{share_id}"
    name = "api:peephole:share:page"
    requires_auth = False

    async def get(self, request: web.Request, share_id: str) -> web.Response:
        """Render the page if the token opens it; the neutral page otherwise."""
        hass = request.app[KEY_HASS]
        registry = async_get_registry(hass)
        access = await registry.async_access(
            share_id=share_id,
            resource=PAGE_RESOURCE,
            method=request.method,
            token=token_from_query(request.rel_url.raw_query_string),
            client=request.remote,
            cloud=is_cloud_request(hass),
        )
        if access.report_guess:
            await async_report_guess(request)
        language = await async_request_language(hass, request)
        strings = await async_get_translations(hass, language, "ui", {DOMAIN})
        grant = access.grant
        share = registry.shares.get(grant.share_id) if grant else None
        entry = loaded_entry(hass, share.entry_id) if share else None
        rule = rule_for(entry, share) if entry and share else None
        if share is None or entry is None or rule is None:
            return _answer(render_unavailable(strings, language), language, ok=False)
        limit = effective_view_limit(share, rule)
        html = render_page(
            strings,
            language,
            doorbell=entry.title,
            items=_items(hass, registry.links(entry, share), share, entry.title),
            ends=_local(effective_expiry(share, rule)),
            views_left=None if limit is None else max(limit - share.views, 0),
        )
        return _answer(html, language, ok=True)

    post = put = patch = delete = head = get


def _items(
    hass: HomeAssistant, links: list[dict[str, str]], share: Share, doorbell: str
) -> list[PageItem]:
    """Return what the page shows: each resource with its (relative) link."""
    items = []
    slug = "".join(ch if ch.isalnum() else "-" for ch in doorbell.lower()).strip("-")
    for link in links:
        resource = link["resource"]
        clip_id = resource.removesuffix(CLIP_RESOURCE_SUFFIX)
        if share.kind is ShareKind.CLIPS and is_clip_id(clip_id):
            start = clip_id_time(clip_id)
            title = _local(start)
            download = (
                f"{slug or 'doorbell'}-{dt_util.as_local(start):%Y%m%d-%H%M%S}.mp4"
            )
            items.append(
                PageItem(title=title, path=link["path"], download=download, video=True)
            )
        else:
            items.append(
                PageItem(
                    title=_local(share.created),
                    path=link["path"],
                    download=f"{slug or 'doorbell'}-snapshot.jpg",
                    video=False,
                )
            )
    return items


def _answer(html: str, language: str, *, ok: bool) -> web.Response:
    return web.Response(
        status=HTTPStatus.OK if ok else HTTPStatus.NOT_FOUND,
        body=html.encode(),
        content_type="text/html",
        charset="utf-8",
        headers={**HEADERS, "Content-Language": language},
    )
