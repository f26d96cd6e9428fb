"""The customer's shortlist page: /s/{token} (public, no sign-in, mobile-first HTML) and its feedback
(issue 14 §4). Not under /console and not in the API document: the share token is the only credential.

CSRF without a session: a form post must carry `form_token`, an HMAC of the share token under a server key
(a page of another shortlist, or a forged form, fails: 422 naming form_token); a JSON post must be
`application/json` (a cross-site form cannot send that without a CORS preflight, which this service never
grants) and, when the browser sends an Origin, come from this service's own origin (else 403).
"""
from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response

from sales.console.web import client_ip, redirect, templates
from sales.core.errors import Forbidden, InvalidInput
from sales.core.http import Conn, Now, respond
from sales.journey import shortlist_rules, shortlists
from sales.journey.errors import ShareNotFound
from sales.journey.schemas import FeedbackCreate

router = APIRouter()


def _form_key(request: Request) -> bytes:
    return hashlib.sha256(b"shortlist-form-token:" + request.app.state.settings.pii_key_bytes).digest()


def _html(request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
    response = templates.TemplateResponse(request, template, values, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _not_found(request: Request) -> Response:
    return _html(request, "shortlist_gone.html", status_code=404)


async def _page(request: Request, conn: Conn, now: Any, token: str, *, status_code: int = 200,
                error: str | None = None, saved: str | None = None) -> Response:
    try:
        page = await shortlists.public_page(conn, token=token, now=now)
    except ShareNotFound:
        return _not_found(request)
    return _html(request, "shortlist_public.html", status_code=status_code, page=page, token=token,
                 form_token=shortlist_rules.form_token(_form_key(request), token), error=error, saved=saved)


@router.get("/s/{token}")
async def shortlist_page(token: str, request: Request, conn: Conn, now: Now) -> Response:
    """The shared shortlist as the customer sees it (friendly 404 page for an unknown or expired link)."""
    return await _page(request, conn, now, token, saved=request.query_params.get("saved"))


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or origin.rstrip("/") == str(request.base_url).rstrip("/")


@router.post("/s/{token}/feedback")
async def leave_feedback(token: str, request: Request, conn: Conn, now: Now) -> Response:
    """Like / dislike / want to visit one property, with an optional comment."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        if not _same_origin(request):
            raise Forbidden("cross-origin feedback is refused")
        try:
            data = FeedbackCreate.model_validate(await request.json())
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidInput(tuple(str(p) for p in first["loc"]) or ("body",), first["msg"]) from None
        except ValueError:
            raise InvalidInput((), "the body is not valid JSON") from None
        stored = await shortlists.leave_feedback(conn, token=token, data=data, client=client_ip(request), now=now)
        return respond(stored, 201)
    form = await request.form()
    if not shortlist_rules.form_token_valid(_form_key(request), token, form.get("form_token")):  # type: ignore[arg-type]
        try:
            await shortlists.resolve(conn, token=token, now=now)
        except ShareNotFound:
            return _not_found(request)
        raise InvalidInput(("form_token",), "this form does not belong to this shortlist link; reload the page")
    reaction = str(form.get("reaction") or "").upper()
    try:
        data = FeedbackCreate.model_validate({"listing_id": form.get("listing_id"), "reaction": reaction,
                                              "comment": (str(form.get("comment") or "").strip() or None)})
        await shortlists.leave_feedback(conn, token=token, data=data, client=client_ip(request), now=now)
    except ShareNotFound:
        return _not_found(request)
    except (ValidationError, InvalidInput) as exc:
        detail = exc.detail if isinstance(exc, InvalidInput) else "Please choose like, dislike or want to visit."
        return await _page(request, conn, now, token, status_code=422, error=detail)
    return redirect(f"/s/{token}?saved={data.listing_id}#l-{data.listing_id}", request)
