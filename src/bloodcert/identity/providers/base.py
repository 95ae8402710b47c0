"""The one interface every real-name identity provider implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class ProviderError(Exception):
    """The platform refused, answered malformed data, or its signature did not verify."""


@dataclass(frozen=True, slots=True)
class VerifiedIdentity:
    """Who the platform says the user is.

    `subject` is the platform's stable user id (Alipay user_id/open_id, WeChat openid/unionid, Baidu openid).
    `id_type`, `id_number` and `name` are set only when the platform itself verified them (real-name
    authentication); a provider identity links to a donor only through these.
    """

    provider: str
    subject: str
    id_type: str | None = None
    id_number: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """Where to send the browser, and what to keep server-side until the callback."""

    url: str
    state: str
    code_verifier: str | None  # PKCE, where the protocol allows it


class IdentityProvider(Protocol):
    """A real-name platform's OAuth flow."""

    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str: ...  # shown on the login button, e.g. 支付宝

    def authorization(self, redirect_uri: str) -> AuthorizationRequest: ...

    def identity(
        self,
        code: str,
        *,
        redirect_uri: str,
        code_verifier: str | None,
        claimed: ClaimedIdentity | None = None,
    ) -> VerifiedIdentity: ...


@dataclass(frozen=True, slots=True)
class ClaimedIdentity:
    """ID type + number + name the user typed, for platforms that check a claim rather than disclose it."""

    id_type: str
    id_number: str
    name: str
