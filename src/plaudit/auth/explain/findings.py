"""What an explanation is made of: findings, and the explanation that holds them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import AuthError, InvalidClaim

Status = Literal["ok", "warning", "error", "info"]
Section = Literal["token", "header", "claims", "profile", "verification"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One observation about a token: how it stands, what it concerns, and why."""

    status: Status
    section: Section
    #: The header field or claim concerned ("alg", "exp", "user.id"), or a step ("signature").
    field: str
    message: str
    #: The decoded value concerned, when there is one (untrusted: show it, never act on it).
    value: Any = None
    #: The stable error code of ``plaudit.auth.errors`` this finding corresponds to.
    code: str | None = None
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "section": self.section,
            "field": self.field,
            "message": self.message,
            "value": self.value,
            "code": self.code,
            "hint": self.hint,
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything ``explain`` found. Nothing in ``header`` or ``claims`` is verified."""

    #: The strict parser accepted the token (it may still fail verification).
    well_formed: bool
    header: Mapping[str, Any] | None
    claims: Mapping[str, Any] | None
    findings: tuple[Finding, ...]
    #: The name of the profile the token was read with (the verifier's, else the guessed one).
    profile: str | None = None
    user_id: str | None = None
    #: Why the strict parser refused the token: ``{"error", "message", "hint"}``.
    error: Mapping[str, str] | None = None
    #: With a verifier: ``{"valid": True}`` or ``{"valid": False, "error", "message", "hint"}``.
    verification: Mapping[str, Any] | None = field(default=None)

    @property
    def valid(self) -> bool | None:
        """True or False when a verifier judged the token, None when none was given."""
        if self.verification is None:
            return None
        return bool(self.verification["valid"])

    def by_status(self, status: Status) -> list[Finding]:
        return [f for f in self.findings if f.status == status]

    def to_dict(self) -> dict[str, Any]:
        return {
            "well_formed": self.well_formed,
            "error": dict(self.error) if self.error is not None else None,
            "header": dict(self.header) if self.header is not None else None,
            "claims": dict(self.claims) if self.claims is not None else None,
            "profile": self.profile,
            "user_id": self.user_id,
            "verification": dict(self.verification) if self.verification is not None else None,
            "findings": [f.to_dict() for f in self.findings],
        }


class Findings:
    """The findings of one explanation, in the order they were made."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[Finding] = []

    def add(
        self,
        status: Status,
        section: Section,
        name: str,
        message: str,
        value: Any = None,
        *,
        error: AuthError | None = None,
    ) -> None:
        self.items.append(
            Finding(
                status,
                section,
                name,
                message,
                value,
                code=error.code if error is not None else None,
                hint=(error.hint or None) if error is not None else None,
            )
        )

    def add_error(self, section: Section, name: str, error: AuthError, value: Any = None) -> None:
        """The error a validator of the core raised, with its own code, message and hint."""
        self.add("error", section, name, error.message, value, error=error)

    def judge(
        self, section: Section, name: str, check: Callable[[], object], value: Any = None
    ) -> bool:
        """Run one validator of the core; an error it raises becomes this finding."""
        try:
            try:
                check()
            except ArithmeticError:
                raise time_out_of_range() from None
        except AuthError as exc:
            self.add_error(section, name, exc, value)
            return False
        return True


def time_out_of_range() -> InvalidClaim:
    """The error for a time claim too large to compare with a clock.

    The core refuses times beyond 10**15 seconds before comparing them; this is the belt to
    those braces, for callers that guard arithmetic on untrusted numbers.
    """
    return InvalidClaim(
        "A time claim ('exp', 'nbf' or 'iat') is too large to be a time.",
        hint="Times are seconds since the Unix epoch, such as 1767225600.",
    )
