"""Accounts and their credentials; verifying Kling JWTs and plain bearer API keys."""

from __future__ import annotations

import base64
import hashlib
import math
import secrets
import time
from dataclasses import dataclass, replace

from omnivideo.contract.errors import OmniError
from omnivideo.store.interfaces import AccountStore

#: seconds of clock difference tolerated on `exp` and `nbf`
CLOCK_SKEW_S = 10
API_KEY_PREFIX = "ov-"


@dataclass(frozen=True)
class NewCredentials:
    """Credentials as shown once, at creation."""

    account_id: str
    name: str
    access_key: str
    secret_key: str
    api_key: str
    #: verifies the signatures of callback deliveries (empty for a key added to an old account)
    webhook_secret: str = ""


def _hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def create_key(store: AccountStore, account_id: str, name: str) -> NewCredentials:
    access_key = "AK" + secrets.token_hex(15).upper()
    secret_key = secrets.token_hex(24)
    api_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    store.add_key(account_id, name, access_key, secret_key, _hash(api_key), api_key[:10])
    return NewCredentials(account_id, name, access_key, secret_key, api_key)


def create_account(store: AccountStore, name: str = "default") -> NewCredentials:
    """A new account with one set of credentials."""
    account_id = "acc_" + secrets.token_hex(8)
    webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    store.create_account(account_id, name, webhook_secret)
    return replace(create_key(store, account_id, name), webhook_secret=webhook_secret)


def ensure_account(store: AccountStore) -> NewCredentials | None:
    """Create the first account when there is none; returns its credentials, or None."""
    if store.list_accounts():
        return None
    return create_account(store, "default")


def default_account_id(store: AccountStore) -> str | None:
    """The first account: the one `--no-auth` requests act as."""
    found = store.list_accounts()
    return found[0].id if found else None


def authenticate(store: AccountStore, authorization: str | None) -> str:
    """The account id behind an ``Authorization`` header, or raise OmniError 1001-1004.

    Accepts Kling's JWT (HS256 signed with the secret key, ``iss`` = access key) and plain
    bearer API keys, as proxies such as CometAPI issue them.
    """
    if not authorization or not authorization.strip():
        raise OmniError(1001, "Authorization is empty")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise OmniError(1002, "Authorization is invalid: expected 'Bearer <token>'")
    if token.startswith(API_KEY_PREFIX):
        key = store.key_by_api_hash(_hash(token))
        if key is None or key.revoked:
            raise OmniError(1002, "Authorization is invalid: unknown or revoked API key")
        return key.account_id
    return _verify_jwt(store, token)


def jwt_expiry(authorization: str) -> float | None:
    """The ``exp`` of a bearer JWT (already verified), None for API keys."""
    token = authorization.strip().partition(" ")[2].strip()
    if token.startswith(API_KEY_PREFIX):
        return None
    import jwt  # see _verify_jwt

    try:
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        return None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


def _verify_jwt(store: AccountStore, token: str) -> str:
    # Imported by the first JWT, not at start: PyJWT brings in cryptography (a server whose
    # clients send API keys never needs it).
    import jwt

    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise OmniError(1002, "Authorization is invalid: not a JWT or API key") from None
    if header.get("alg") != "HS256":
        raise OmniError(1002, "Authorization is invalid: the JWT must be signed with HS256")
    issuer = unverified.get("iss")
    key = store.key_by_access_key(issuer) if isinstance(issuer, str) else None
    if key is None or key.revoked:
        raise OmniError(1002, "Authorization is invalid: unknown or revoked access key (iss)")
    try:
        claims = jwt.decode(
            token,
            key.secret_key,
            algorithms=["HS256"],
            leeway=0,
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        raise OmniError(1002, "Authorization is invalid: bad signature") from None
    # exp/nbf are checked here, not by PyJWT, so each failure gets its own Kling code.
    now = time.time()
    exp, nbf = claims.get("exp"), claims.get("nbf")
    for name, value in (("exp", exp), ("nbf", nbf)):
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (isinstance(value, float) and not math.isfinite(value))
        ):
            raise OmniError(1002, f"Authorization is invalid: {name} must be a number of seconds")
    if exp is None:
        raise OmniError(1002, "Authorization is invalid: the JWT has no exp")
    if nbf is not None and nbf > now + CLOCK_SKEW_S:
        raise OmniError(1003, "Authorization is not yet valid")
    if exp < now - CLOCK_SKEW_S:
        raise OmniError(1004, "Authorization has expired")
    return key.account_id
