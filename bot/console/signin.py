"""Signing in to the console: rate limits, the password check, lock-out, and the audit trail.

An account is locked for ``console_lockout_minutes`` once ``console_max_failed_logins`` sign-ins
failed within ``console_failure_window_minutes`` (failures before the last success or the end of
the last lock do not count). While it is locked even the right password is refused, and the refusal
looks like any other failure, so a guesser learns nothing. Each attempt is one audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlmodel import Session

from bot.config import Settings
from bot.console.models import ConsoleUser
from bot.console.passwords import hash_password, needs_rehash, verify_password
from bot.console.queries import (
    FAILED_SIGN_IN,
    count_failures_since,
    create_session,
    create_user,
    delete_expired_sessions,
    get_user_by_name,
    get_user_by_sso_subject,
    last_event_at,
    normal_name,
    record_event,
    update_user,
)
from bot.console.roles import Role
from bot.console.sso import Identity
from bot.interactions.models import utcnow
from bot.rate_limit import RateLimiter, limiter

SIGNED_IN = "sign_in"
LOCKED = "account_locked"
SSO_FAILED = "sso_failed"
SSO_ACCOUNT_CREATED = "sso_account_created"
SSO_ROLE_CHANGED = "sso_role_changed"
# Not an Argon2 hash: no password ever verifies against it (an account that signs in only by SSO).
NO_PASSWORD = "!sso"


class Outcome(StrEnum):
    """How one sign-in attempt ended."""

    SIGNED_IN = "signed_in"
    REFUSED = "refused"  # wrong name or password, disabled or locked: the page says the same
    TOO_FAST = "too_fast"


@dataclass(frozen=True)
class SignInLimits:
    """Sign-in attempts a minute per client address and per account name (None: no limit)."""

    per_address: RateLimiter | None
    per_account: RateLimiter | None

    @classmethod
    def from_settings(cls, settings: Settings) -> SignInLimits:
        """The limits ``settings`` ask for."""
        return cls(
            per_address=limiter(settings.console_logins_per_minute_per_address, 60.0),
            per_account=limiter(settings.console_logins_per_minute_per_account, 60.0),
        )

    def take(self, *, address: str, name: str) -> float:
        """0.0 when one more attempt is allowed (and counted), else the seconds to wait."""
        buckets = [
            (b, k) for b, k in ((self.per_address, address), (self.per_account, name)) if b is not None
        ]
        wait = max((bucket.wait(key) for bucket, key in buckets), default=0.0)
        if wait > 0:
            return wait
        for bucket, key in buckets:
            bucket.take(key)
        return 0.0


@dataclass(frozen=True)
class SignInResult:
    """What ``sign_in`` did: the outcome, and on success the cookie token and CSRF token."""

    outcome: Outcome
    token: str = ""
    csrf_token: str = ""
    retry_after: float = 0.0
    user: ConsoleUser | None = None


def sign_in(
    *, session: Session, settings: Settings, limits: SignInLimits, name: str, password: str, address: str
) -> SignInResult:
    """Check ``name`` and ``password`` from ``address``; on success start a session.

    Refused without checking the password when a rate limit is spent (``TOO_FAST``) or the account
    is locked; a wrong password may lock the account. Every attempt is audited.
    """
    key = normal_name(name)[:64]
    wait = limits.take(address=f"addr:{address}", name=f"name:{key}")
    if wait > 0:
        record_event(session=session, actor="", action="sign_in_throttled", target=key, address=address)
        return SignInResult(Outcome.TOO_FAST, retry_after=wait)
    user = get_user_by_name(session=session, name=key)
    now = utcnow()
    locked = user is not None and user.locked_until is not None and user.locked_until > now
    right = verify_password(user.password_hash if user is not None else None, password)
    if user is None or user.disabled or locked or not right:
        why = "locked" if locked else "disabled" if user is not None and user.disabled else "wrong"
        record_event(
            session=session, actor="", action=FAILED_SIGN_IN, target=key, detail=why, address=address
        )
        if user is not None and not locked:
            _lock_if_needed(session=session, settings=settings, user=user, address=address)
        return SignInResult(Outcome.REFUSED)
    if needs_rehash(user.password_hash):
        update_user(session=session, user=user, password_hash=hash_password(password))
    delete_expired_sessions(session=session)  # a sign-in is rare enough to tidy up on
    lifetime = timedelta(hours=settings.console_session_hours)
    token, row = create_session(session=session, user=user, lifetime=lifetime, address=address)
    record_event(session=session, actor=user.name, action=SIGNED_IN, target=user.name, address=address)
    return SignInResult(Outcome.SIGNED_IN, token=token, csrf_token=row.csrf_token, user=user)


def _lock_if_needed(*, session: Session, settings: Settings, user: ConsoleUser, address: str) -> None:
    now = utcnow()
    starts = [now - timedelta(minutes=settings.console_failure_window_minutes)]
    if user.locked_until is not None:
        starts.append(user.locked_until)
    succeeded = last_event_at(session=session, action=SIGNED_IN, target=user.name)
    if succeeded is not None:
        starts.append(succeeded)
    failures = count_failures_since(session=session, name=user.name, since=max(starts))
    if failures >= settings.console_max_failed_logins:
        until = now + timedelta(minutes=settings.console_lockout_minutes)
        update_user(session=session, user=user, locked_until=until)
        record_event(
            session=session,
            actor="",
            action=LOCKED,
            target=user.name,
            detail=f"until {until.isoformat()}",
            address=address,
        )


def sign_in_sso(*, session: Session, settings: Settings, identity: Identity, address: str) -> SignInResult:
    """Start a session for the identity the provider vouched for (its ID token already validated).

    The first sign-in of an identity makes its account, named by the identity, with the mapped role
    (else ``ITBOT_OIDC_DEFAULT_ROLE``) and no password; later sign-ins take the mapped role when the
    token maps to one (the provider is the authority), else keep the account's role. Refused, and
    audited as ``sso_failed``, for a disabled account or a name a different account already has.
    """
    user = get_user_by_sso_subject(session=session, subject=identity.subject)
    if user is None:
        if get_user_by_name(session=session, name=identity.name) is not None:
            return _sso_refused(session=session, identity=identity, why="name_taken", address=address)
        role = identity.role or Role(settings.oidc_default_role)
        user = create_user(
            session=session,
            name=identity.name,
            role=role,
            password_hash=NO_PASSWORD,
            sso_subject=identity.subject,
        )
        record_event(
            session=session,
            actor=user.name,
            action=SSO_ACCOUNT_CREATED,
            target=user.name,
            detail=f"role {role.value}; subject {identity.subject}",
            address=address,
        )
    elif user.disabled:
        return _sso_refused(session=session, identity=identity, why="disabled", address=address)
    elif identity.role is not None and identity.role is not user.role:
        before = user.role
        user = update_user(session=session, user=user, role=identity.role)
        record_event(
            session=session,
            actor=user.name,
            action=SSO_ROLE_CHANGED,
            target=user.name,
            detail=f"{before.value} -> {identity.role.value}",
            address=address,
        )
    delete_expired_sessions(session=session)
    lifetime = timedelta(hours=settings.console_session_hours)
    token, row = create_session(session=session, user=user, lifetime=lifetime, address=address)
    record_event(
        session=session, actor=user.name, action=SIGNED_IN, target=user.name, detail="sso", address=address
    )
    return SignInResult(Outcome.SIGNED_IN, token=token, csrf_token=row.csrf_token, user=user)


def _sso_refused(*, session: Session, identity: Identity, why: str, address: str) -> SignInResult:
    record_event(
        session=session, actor="", action=SSO_FAILED, target=identity.name, detail=why, address=address
    )
    return SignInResult(Outcome.REFUSED)
