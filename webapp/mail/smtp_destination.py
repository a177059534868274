"""Where an SMTP delivery goes and how it signs in: plain data."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import xoauth2

SECURITY_MODES = ("tls", "starttls", "opportunistic")


@dataclass(frozen=True)
class SmtpDestination:
    host: str            # ASCII: punycode host name, IPv4 or IPv6 literal (no brackets)
    port: int
    security: str        # 'tls' | 'starttls' | 'opportunistic'
    verify_tls: bool = True
    # A certificate the user chose to trust (SHA-256, 64 lower-case hex
    # digits): only it is accepted, its names and chain are not checked, and
    # the connection never goes on without TLS.
    pinned_sha256: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    oauth: xoauth2.OAuthLogin | None = None   # sign in with an access token instead

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise ValueError(f"security must be one of {SECURITY_MODES}")
        if not 1 <= int(self.port) <= 65535:
            raise ValueError("port must be 1-65535")
