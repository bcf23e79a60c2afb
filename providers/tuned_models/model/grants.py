"""Who may use a tuned model: roles, grantees and the one grantee key.

A grant is identified by its grantee, never by its position in a list: :func:`grantee_key`
(``user:a@example.com``, ``group:team@googlegroups.com``, ``everyone``; emails are compared
case-insensitively, as the service compares them) names the ``TunedModelPermission`` resource
of a grant, matches declared grants with live ones in ``plan``, and decides in ``diff``
whether a grant changed its grantee.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a grantee may do; concentric: READER < WRITER < OWNER. A stack file grants READER
    or WRITER; the OWNER is set with ``owner`` (``transferOwnership``)."""

    OWNER = "OWNER"
    WRITER = "WRITER"
    READER = "READER"


#: The roles a ``permissions`` entry may grant.
GRANTABLE_ROLES: tuple[Role, ...] = (Role.READER, Role.WRITER)


class GranteeType(StrEnum):
    """Who a grant is for."""

    USER = "USER"
    GROUP = "GROUP"
    EVERYONE = "EVERYONE"


def grantee_key(grantee_type: str | None, email: str | None) -> str:
    """The identity of a grantee: ``everyone``, or ``<type>:<email>`` in lower case (``?`` for
    a type the service did not say)."""
    kind = str(grantee_type).lower() if grantee_type else "?"
    return "everyone" if kind == "everyone" else f"{kind}:{(email or '').lower()}"


@dataclass(frozen=True)
class Grant:
    """One grantee's role on a model, declared or live. A live grant has its service ``name``;
    ``grantee_type`` or ``role`` is None where the service showed none."""

    grantee_type: GranteeType | None
    email: str | None
    role: Role | None
    name: str | None = None

    @property
    def key(self) -> str:
        return grantee_key(self.grantee_type, self.email)
