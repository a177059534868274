"""Detect settings (SPEC section 8): from an email address to server, port,
security and username rule. Plain Python without Flask; nothing here writes
prose.

    dns.py         SRV / MX / A / AAAA lookups (dnspython), ordered per RFC, never raising
    mx.py          MX hosts -> a known provider, by host patterns
    autoconfig.py  the domain's config-v1.1.xml: URLs to try, hardened parsing
    findings.py    Candidate / Tried / Detection, the order of trust
"""
