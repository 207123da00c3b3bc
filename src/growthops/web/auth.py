"""Routes ``/api/v1/auth``: log in (session cookie), log out, and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from growthops.core.auth.users import InvalidCredentials, User, authenticate
from growthops.web.deps import CurrentUser, get_database
from growthops.web.errors import AUTH_RESPONSES, BODY
from growthops.web.limits import check_login_account, login_failed, login_succeeded
from growthops.web.models import LoginIn, UserOut
from growthops.web.sessions import login_session, logout_session

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=AUTH_RESPONSES)


def user_out(user: User) -> UserOut:
    """Return the public view of a user."""
    return UserOut.model_validate(
        {
            "user_id": user.user_id,
            "email": user.email,
            "role": user.role,
            "tenant_id": user.tenant_id,
            "lang": user.lang,
            "can_decide": user.can_decide,
        }
    )


@router.post(
    "/login", response_model=UserOut, responses=BODY, summary="Log in: set the session cookie"
)
async def login(body: LoginIn, request: Request) -> UserOut:
    """Check the e-mail and password and start a session (cookie ``growthops_session``).

    401 ``InvalidCredentials`` for an unknown e-mail, a wrong password or a disabled account
    alike (one message, one argon2 verification each). 429 ``TooManyRequests`` (with
    ``Retry-After``) once the account's failed logins or the address's login attempts are
    spent (:mod:`growthops.web.limits`), even with the right password.
    """
    def check() -> User:
        check_login_account(request, body.email)
        try:
            user = authenticate(get_database(request), email=body.email, password=body.password)
        except InvalidCredentials:
            login_failed(request, body.email)
            raise
        login_succeeded(request, body.email)
        login_session(request, user)
        return user

    return user_out(await run_in_threadpool(check))


@router.post("/logout", status_code=204, response_class=Response, summary="Log out")
def logout(request: Request) -> Response:
    """End the session for good: its record is revoked, so a copy of the cookie stops working
    too (idempotent; no authentication needed)."""
    logout_session(request)
    return Response(status_code=204)


@router.get("/me", response_model=UserOut, summary="The session's user")
def me(user: CurrentUser) -> UserOut:
    """Return the logged-in user (401 without a valid session)."""
    return user_out(user)
