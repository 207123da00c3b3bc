"""Who acts on the command line: a growthops user, never a free-text name (issue 9 #10).

The dashboard takes the person from the logged-in user and the API from the API key's acting
identity; the command line has neither, so a decision or a forced execution names a
growthops user: ``--by EMAIL``, else the configured operator ``GROWTHOPS_OPERATOR``
(:attr:`growthops.settings.Settings.operator`). The e-mail must be an active user allowed to
decide (``admin`` or ``media_buyer``); anything else is refused before anything is written.
The audit entry records which of the two named the person (``after.identity``).
"""

from __future__ import annotations

from growthops.core.db import Database
from growthops.core.errors import InvalidInput
from growthops.core.i18n import _
from growthops.settings import get_settings

#: Roles that may decide suggestions (the dashboard's rule: viewers and agents are read-only).
DECIDING_ROLES = ("admin", "media_buyer")


def operator_identity(db: Database, by: str | None, lang: str) -> tuple[str, str]:
    """Return (the user's e-mail, how it was named: ``--by`` or ``GROWTHOPS_OPERATOR``).

    Raises :class:`InvalidInput` when neither is given, or when the e-mail is not an active
    user with a deciding role (the message says how to fix it, in ``lang``).
    """
    source = "--by" if by else "GROWTHOPS_OPERATOR"
    email = (by or get_settings().operator or "").strip()
    if not email:
        raise InvalidInput(_(lang, "--by: give the e-mail of the growthops user who decides (admin "
                                   "or media buyer), or set GROWTHOPS_OPERATOR to it once"))
    with db.admin() as conn:
        row = conn.execute("select email, role, active from core.users where lower(email) = "
                           "lower(%s)", [email]).fetchone()
    if row is None or not row["active"] or row["role"] not in DECIDING_ROLES:
        raise InvalidInput(_(lang, "{source}: {email} is not an active growthops user who may "
                                   "decide (admin or media buyer); create one with `growthops "
                                   "users create`", source=source, email=email))
    return str(row["email"]), source
