"""Instagram content publishing and comments over the Graph API (``httpx``, no tenant wording).

Wire formats (Instagram Platform, "Instagram API with Instagram Login"):

* **Content publishing** ("Content Publishing"): ``POST /{ig-user-id}/media`` with
  ``image_url`` + ``caption`` (an image), ``media_type=REELS`` + ``video_url`` (a video), or
  ``media_type=CAROUSEL`` + ``children`` (container ids of items created with
  ``is_carousel_item=true``) answers ``{"id": <container id>}``; ``GET /{container-id}?
  fields=status_code`` answers ``EXPIRED | ERROR | FINISHED | IN_PROGRESS | PUBLISHED``; then
  ``POST /{ig-user-id}/media_publish`` with ``creation_id`` answers ``{"id": <media id>}``.
  Limits: caption at most 2,200 characters and 30 hashtags; 100 API-published posts per 24 h.
* **Media and comments** ("IG User Media", "IG Media Comments", "IG Comment Replies"):
  ``GET /{ig-user-id}/media?fields=id,caption,media_url,timestamp&limit=N`` (newest first);
  ``GET /{ig-media-id}/comments?fields=...,replies{...}&after=<cursor>`` answers ``{"data":
  [...], "paging": {"cursors": {"after"}, "next"?}}``; ``POST /{ig-comment-id}/replies`` with
  ``message`` answers ``{"id"}``.
* **Private replies** ("Private Replies"): ``POST /{ig-user-id}/messages`` with
  ``{"recipient": {"comment_id": <id>}, "message": {"text"}}``; one per comment, within 7 days
  of the comment (the caller enforces both).

Errors are :class:`~growthops.connectors.messaging.MessagingError` (``retryable`` for rate
limits and temporary failures), mapped by :mod:`growthops.connectors.graph_http`.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from growthops.connectors.graph_http import GraphClient
from growthops.connectors.instagram.client import DEFAULT_BASE_URL, DEFAULT_VERSION
from growthops.connectors.messaging import MessagingError

#: Source: Instagram Content Publishing, "Limitations" (caption 2,200 characters, 30 hashtags).
MAX_CAPTION = 2200
MAX_HASHTAGS = 30
#: Carousel: 2 to 10 items (Content Publishing, "Carousel posts").
CAROUSEL_MAX = 10
COMMENT_FIELDS = ("id,text,timestamp,username,from,like_count,parent_id,"
                  "replies{id,text,timestamp,username,from,like_count,parent_id}")


@dataclass(frozen=True)
class Comment:
    """A comment on a media: ``parent_id`` is the parent comment's id for a reply (threads)."""

    comment_id: str
    media_id: str
    text: str | None
    created_at: datetime
    author_id: str | None = None
    author_name: str | None = None
    parent_id: str | None = None
    like_count: int = 0
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Media:
    """A published media of the account (newest first in :meth:`PublishingTransport.recent_media`)."""

    media_id: str
    caption: str | None
    media_url: str | None
    posted_at: datetime | None


def parse_time(value: Any) -> datetime | None:
    """Parse Graph timestamps (``2026-03-29T09:00:00+0000``) or epoch seconds into UTC."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(value, fmt).astimezone(UTC)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        return None


def comment_of(obj: dict[str, Any], media_id: str, parent: str | None = None) -> Comment | None:
    """Build a :class:`Comment` from a Graph comment object (None when malformed)."""
    cid = obj.get("id")
    at = parse_time(obj.get("timestamp"))
    if not isinstance(cid, str | int) or at is None:
        return None
    frm = obj.get("from") if isinstance(obj.get("from"), dict) else {}
    likes = obj.get("like_count")
    return Comment(comment_id=str(cid), media_id=media_id,
                   text=obj.get("text") if isinstance(obj.get("text"), str) else None,
                   created_at=at, author_id=str(frm["id"]) if frm.get("id") else None,
                   author_name=obj.get("username") or frm.get("username"),
                   parent_id=str(obj.get("parent_id") or parent) if (obj.get("parent_id") or parent)
                   else None, like_count=likes if isinstance(likes, int) else 0,
                   raw={k: v for k, v in obj.items() if k != "replies"})


def validate_content(text: str, media: list[dict[str, Any]]) -> None:
    """Check a post against Instagram's rules; raise :class:`MessagingError` ``invalid``.

    ``media``: ``[{"type": "image"|"video", "url": "https://..."}]``, 1 to :data:`CAROUSEL_MAX`
    items (Instagram has no text-only feed post).
    """
    if len(text) > MAX_CAPTION:
        raise MessagingError(f"text: at most {MAX_CAPTION} characters", kind="invalid")
    if text.count("#") > MAX_HASHTAGS:
        raise MessagingError(f"text: at most {MAX_HASHTAGS} hashtags", kind="invalid")
    if not 1 <= len(media) <= CAROUSEL_MAX:
        raise MessagingError(f"media: 1 to {CAROUSEL_MAX} items (Instagram has no text-only post)",
                             kind="invalid")
    for n, m in enumerate(media):
        if m.get("type") not in ("image", "video") or not str(m.get("url") or "").startswith(
                ("http://", "https://")):
            raise MessagingError(f"media[{n}]: type image or video and an http(s) url",
                                 kind="invalid")


@runtime_checkable
class PublishingTransport(Protocol):
    """One Instagram account's publishing and comments side."""

    account_id: str

    def publish(self, text: str, media: list[dict[str, Any]],
                on_container: Callable[[str], None] | None = None) -> str:
        """Create the container(s), wait until ready, publish; return the media id."""
        ...

    def container_status(self, container_id: str) -> str:
        """Return a container's ``status_code``."""
        ...

    def recent_media(self, limit: int) -> list[Media]:
        """Return the account's last ``limit`` media, newest first."""
        ...

    def comments(self, media_id: str, after: str | None = None) -> tuple[list[Comment], str | None]:
        """Return one page of comments (replies flattened) and the next cursor (None at the end)."""
        ...

    def reply_public(self, comment_id: str, text: str) -> str:
        """Reply publicly under a comment; return the reply's comment id."""
        ...

    def reply_private(self, comment_id: str, text: str) -> str:
        """Send a private reply to a comment's author; return the message id."""
        ...


class GraphPublisher:
    """:class:`PublishingTransport` over the Graph API. ``poll_seconds``/``poll_max``: how
    often and how long to wait for a video container to be ``FINISHED``."""

    def __init__(self, ig_account_id: str, token: str, *, base_url: str | None = None,
                 version: str | None = None, api_logger: Callable[..., Any] | None = None,
                 wait_max: float = 8.0, poll_seconds: float = 2.0, poll_max: float = 120.0) -> None:
        self.account_id = ig_account_id
        self.poll_seconds, self.poll_max = poll_seconds, poll_max
        self._graph = GraphClient(base_url or DEFAULT_BASE_URL, version or DEFAULT_VERSION, token,
                                  api_name="instagram", api_logger=api_logger, wait_max=wait_max)

    def _container(self, item: dict[str, Any], *, caption: str | None, carousel: bool) -> str:
        body: dict[str, Any] = ({"image_url": item["url"]} if item["type"] == "image" else
                                {"video_url": item["url"], "media_type": "REELS"
                                 if not carousel else "VIDEO"})
        if carousel:
            body["is_carousel_item"] = True
        if caption is not None:
            body["caption"] = caption
        cid = self._graph.post(f"{self.account_id}/media", body).get("id")
        if not cid:
            raise MessagingError("the platform answered without a container id", kind="temporary")
        return str(cid)

    def _wait_ready(self, container_id: str) -> None:
        deadline = time.monotonic() + self.poll_max
        while True:
            status = self.container_status(container_id)
            if status in ("FINISHED", "PUBLISHED"):
                return
            if status in ("ERROR", "EXPIRED"):
                raise MessagingError(f"container {container_id}: {status}", kind="invalid")
            if time.monotonic() > deadline:
                raise MessagingError(f"container {container_id}: still {status}", kind="temporary")
            time.sleep(self.poll_seconds)

    def publish(self, text: str, media: list[dict[str, Any]],
                on_container: Callable[[str], None] | None = None) -> str:
        """Create the container(s), wait until ready, publish; return the media id.

        ``on_container`` is called with the container id before ``media_publish`` (the caller
        records it, so an interrupted run can be checked). Raises :class:`MessagingError`."""
        validate_content(text, media)
        if len(media) == 1:
            container = self._container(media[0], caption=text, carousel=False)
        else:
            children = [self._container(m, caption=None, carousel=True) for m in media]
            for c in children:
                self._wait_ready(c)
            cid = self._graph.post(f"{self.account_id}/media", {
                "media_type": "CAROUSEL", "children": ",".join(children), "caption": text}).get("id")
            if not cid:
                raise MessagingError("the platform answered without a container id", kind="temporary")
            container = str(cid)
        self._wait_ready(container)
        if on_container is not None:
            on_container(container)
        mid = self._graph.post(f"{self.account_id}/media_publish", {"creation_id": container}).get("id")
        if not mid:
            raise MessagingError("media_publish answered without a media id", kind="temporary")
        return str(mid)

    def container_status(self, container_id: str) -> str:
        """Return a container's ``status_code`` (``FINISHED``, ``PUBLISHED``...)."""
        return str(self._graph.get(container_id, {"fields": "status_code"}).get("status_code") or "")

    def recent_media(self, limit: int) -> list[Media]:
        """Return the account's last ``limit`` media (1-100), newest first."""
        body = self._graph.get(f"{self.account_id}/media", {
            "fields": "id,caption,media_url,timestamp", "limit": max(1, min(limit, 100))})
        return [Media(media_id=str(m["id"]), caption=m.get("caption"), media_url=m.get("media_url"),
                      posted_at=parse_time(m.get("timestamp")))
                for m in body.get("data") or [] if isinstance(m, dict) and m.get("id")][:limit]

    def comments(self, media_id: str, after: str | None = None) -> tuple[list[Comment], str | None]:
        """One page of a media's comments with their replies flattened (``parent_id`` set) and
        the cursor of the next page (None when there is none)."""
        params: dict[str, Any] = {"fields": COMMENT_FIELDS, "limit": 50}
        if after:
            params["after"] = after
        body = self._graph.get(f"{media_id}/comments", params)
        out: list[Comment] = []
        for obj in body.get("data") or []:
            if not isinstance(obj, dict):
                continue
            c = comment_of(obj, media_id)
            if c is not None:
                out.append(c)
                replies = obj.get("replies") if isinstance(obj.get("replies"), dict) else {}
                out += [r for r in (comment_of(x, media_id, parent=c.comment_id)
                                    for x in replies.get("data") or [] if isinstance(x, dict))
                        if r is not None]
        paging = body.get("paging") if isinstance(body.get("paging"), dict) else {}
        cursor = (paging.get("cursors") or {}).get("after") if paging.get("next") else None
        return out, cursor or None

    def reply_public(self, comment_id: str, text: str) -> str:
        """Reply under ``comment_id``; return the reply's id."""
        rid = self._graph.post(f"{comment_id}/replies", {"message": text}).get("id")
        if not rid:
            raise MessagingError("the platform answered without a reply id", kind="temporary")
        return str(rid)

    def reply_private(self, comment_id: str, text: str) -> str:
        """Send a private reply to the author of ``comment_id``; return the message id."""
        body = self._graph.post(f"{self.account_id}/messages", {
            "recipient": {"comment_id": comment_id}, "message": {"text": text}})
        if not body.get("message_id"):
            raise MessagingError("the platform answered without a message id", kind="temporary")
        return str(body["message_id"])


class SandboxPublisher:
    """An in-process :class:`PublishingTransport` for sandbox accounts: publishes nothing,
    invents ids, has no comments (comments reach sandbox accounts by webhook only)."""

    _ids = itertools.count(1)

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.published: list[dict[str, Any]] = []

    def _id(self, prefix: str) -> str:
        return f"{prefix}SBX{next(self._ids):08d}{uuid.uuid4().hex[:8]}"

    def publish(self, text: str, media: list[dict[str, Any]],
                on_container: Callable[[str], None] | None = None) -> str:
        """Validate and record the post; return an invented media id."""
        validate_content(text, media)
        container = self._id("c")
        if on_container is not None:
            on_container(container)
        mid = self._id("m")
        self.published.append({"id": mid, "text": text, "media": media})
        return mid

    def container_status(self, container_id: str) -> str:
        """Sandbox containers are always ``FINISHED``."""
        return "FINISHED"

    def recent_media(self, limit: int) -> list[Media]:
        """A sandbox account lists no media."""
        return []

    def comments(self, media_id: str, after: str | None = None) -> tuple[list[Comment], str | None]:
        """A sandbox account has no comments to poll."""
        return [], None

    def reply_public(self, comment_id: str, text: str) -> str:
        """Return an invented reply id."""
        return self._id("r")

    def reply_private(self, comment_id: str, text: str) -> str:
        """Return an invented message id."""
        return self._id("aWdf")
