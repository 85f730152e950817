"""Every statement about console accounts, sessions and the audit log; keyword-only.

Writes commit. An account name is stored as given but looked up without regard to letter case
being different only when stored so: names are kept lower case by ``normal_name``.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from bot.console.models import AuditEvent, ConsoleSession, ConsoleUser, SsoLogin
from bot.console.roles import Role
from bot.interactions.models import utcnow

FAILED_SIGN_IN = "sign_in_failed"


def normal_name(name: str) -> str:
    """An account name as stored: stripped, lower case."""
    return name.strip().lower()


def token_digest(token: str) -> str:
    """The SHA-256 (hex) a session's cookie token is stored as."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_user(
    *, session: Session, name: str, role: Role, password_hash: str, sso_subject: str | None = None
) -> ConsoleUser:
    """Store a new account (``sso_subject``: the single sign-on identity it belongs to); raises
    ``sqlalchemy.exc.IntegrityError`` when the name or the identity is taken."""
    user = ConsoleUser(
        name=normal_name(name), role=role, password_hash=password_hash, sso_subject=sso_subject
    )
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def get_user_by_name(*, session: Session, name: str) -> ConsoleUser | None:
    """The account named ``name`` (any letter case), or None."""
    return session.exec(select(ConsoleUser).where(ConsoleUser.name == normal_name(name))).first()


def get_user_by_sso_subject(*, session: Session, subject: str) -> ConsoleUser | None:
    """The account single sign-on made for ``subject`` ('<issuer> <sub>'), or None."""
    return session.exec(select(ConsoleUser).where(ConsoleUser.sso_subject == subject)).first()


def get_user(*, session: Session, user_id: int) -> ConsoleUser | None:
    """The account with this id, or None."""
    return session.get(ConsoleUser, user_id)


def list_users(*, session: Session) -> list[ConsoleUser]:
    """Every account, by name."""
    return list(session.exec(select(ConsoleUser).order_by(col(ConsoleUser.name))).all())


def update_user(
    *,
    session: Session,
    user: ConsoleUser,
    role: Role | None = None,
    disabled: bool | None = None,
    password_hash: str | None = None,
    locked_until: datetime | None = None,
    clear_lock: bool = False,
) -> ConsoleUser:
    """Change the given fields of ``user``; disabling it also ends its sessions. Commits."""
    if role is not None:
        user.role = role
    if disabled is not None:
        user.disabled = disabled
    if password_hash is not None:
        user.password_hash = password_hash
    if locked_until is not None or clear_lock:
        user.locked_until = locked_until
    session.add(user)
    if disabled:
        session.execute(delete(ConsoleSession).where(col(ConsoleSession.user_id) == user.id))
    session.commit()
    session.refresh(user)
    return user


def create_session(
    *, session: Session, user: ConsoleUser, lifetime: timedelta, address: str
) -> tuple[str, ConsoleSession]:
    """Start a sign-in session for ``user``: the cookie's token (kept nowhere else) and the row."""
    if user.id is None:
        raise ValueError("the account is not stored")
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(
        id=token_digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + lifetime,
        address=address[:128],
    )
    session.add(row)
    session.commit()
    return token, row


def get_live_session(*, session: Session, token: str) -> tuple[ConsoleSession, ConsoleUser] | None:
    """The unexpired session whose cookie token is ``token`` and its enabled account, or None."""
    statement = (
        select(ConsoleSession, ConsoleUser)
        .join(ConsoleUser, col(ConsoleUser.id) == col(ConsoleSession.user_id))
        .where(ConsoleSession.id == token_digest(token))
        .where(col(ConsoleSession.expires_at) > utcnow())
        .where(col(ConsoleUser.disabled).is_(False))
    )
    found = session.exec(statement).first()
    return (found[0], found[1]) if found is not None else None


def delete_session(*, session: Session, token: str) -> None:
    """End the session whose cookie token is ``token`` (nothing when there is none)."""
    session.execute(delete(ConsoleSession).where(col(ConsoleSession.id) == token_digest(token)))
    session.commit()


def delete_expired_sessions(*, session: Session) -> int:
    """Forget sessions past their expiry; how many there were."""
    result = session.execute(delete(ConsoleSession).where(col(ConsoleSession.expires_at) <= utcnow()))
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def record_event(
    *, session: Session, actor: str, action: str, target: str = "", detail: str = "", address: str = ""
) -> AuditEvent:
    """Append one audit event (now); commits."""
    event = AuditEvent(
        actor=actor[:64], action=action[:32], target=target[:512], detail=detail, address=address[:128]
    )
    session.add(event)
    session.commit()
    return event


def list_events(*, session: Session, limit: int | None = None) -> list[AuditEvent]:
    """Audit events, newest first (all of them when ``limit`` is None)."""
    statement = select(AuditEvent).order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.exec(statement).all())


def count_failures_since(*, session: Session, name: str, since: datetime) -> int:
    """Failed sign-ins at the account name ``name`` since ``since``."""
    statement = (
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == FAILED_SIGN_IN)
        .where(AuditEvent.target == normal_name(name))
        .where(col(AuditEvent.at) >= since)
    )
    return int(session.exec(statement).one())


def last_event_at(*, session: Session, action: str, target: str) -> datetime | None:
    """When the newest event ``action`` on ``target`` happened, or None."""
    statement = (
        select(func.max(AuditEvent.at)).where(AuditEvent.action == action).where(AuditEvent.target == target)
    )
    value = session.exec(statement).one()
    if value is None:
        return None
    from bot.interactions.models import UtcDateTime  # SQLite hands back a naive time from max()

    return UtcDateTime().process_result_value(value, session.get_bind().dialect)


def create_sso_login(
    *, session: Session, state: str, nonce: str, code_verifier: str, next_path: str, lifetime: timedelta
) -> None:
    """Remember one single sign-on attempt (by the SHA-256 of its ``state``) for ``lifetime``; forget
    attempts past theirs. Commits."""
    session.execute(delete(SsoLogin).where(col(SsoLogin.expires_at) <= utcnow()))
    session.add(
        SsoLogin(
            id=token_digest(state),
            nonce=nonce,
            code_verifier=code_verifier,
            next_path=next_path[:500],
            expires_at=utcnow() + lifetime,
        )
    )
    session.commit()


def take_sso_login(*, session: Session, state: str) -> SsoLogin | None:
    """The unexpired attempt whose state is ``state``, deleted as it is read: a state is good once, even
    when two requests (or two server processes) bring it back at the same time. Commits."""
    row = session.get(SsoLogin, token_digest(state))
    if row is None:
        return None
    session.expunge(row)
    result = session.execute(delete(SsoLogin).where(col(SsoLogin.id) == row.id))
    session.commit()
    if int(getattr(result, "rowcount", 0) or 0) != 1 or row.expires_at <= utcnow():
        return None
    return row
