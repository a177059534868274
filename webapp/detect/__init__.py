"""Detect settings (SPEC section 8): from an email address to server, port,
security and username rule. Plain Python without Flask; nothing here writes
prose.

    run.py         detect_settings(): the provider table, then everything else at once under one deadline
    dns.py         SRV / MX / A / AAAA lookups (dnspython), ordered per RFC, never raising
    mx.py          MX hosts -> a provider of the one table (mail/providers.py)
    autoconfig.py  the domain's config-v1.1.xml: URLs to try, hardened parsing
    sources.py     the deadline clock, each host resolved once, the autoconfig fetch (mail/web.py)
    probe.py       one server port: the test's session opening, then QUIT; how it is secured
    findings.py    Candidate / Tried / Detection, the order of trust
"""
from .findings import Candidate, Detection, Tried
from .run import DetectOptions, detect_settings, parse_ports

__all__ = ["Candidate", "Detection", "DetectOptions", "Tried", "detect_settings", "parse_ports"]
