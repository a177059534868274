"""The shapes of the texts: an Explanation per diagnosis code, a provider's steps."""
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask_babel import LazyString

@dataclass(frozen=True)
class Explanation:
    title: LazyString
    meaning: LazyString
    advice: LazyString
    # The general checklist (TROUBLESHOOTING) helps here. It names the SMTP
    # fields, so it is never shown for a failure over HTTP.
    troubleshooting: bool = False
    # Over HTTP this replaces `advice`, to point at the HTTP server field.
    http_advice: LazyString | None = None
    # A refused sign-in at a provider that wants an app password: its steps help.
    provider_steps: bool = False
    # fact -> the explanation used instead when the diagnosis has that fact
    # (the first one it has, in this order). A variant stands alone: it takes
    # nothing, not even `http_advice`, from the explanation it replaces.
    variants: Mapping[str, "Explanation"] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderSteps:
    steps: tuple[LazyString, ...]
    # Leads into the steps under a refused sign-in: steps with an intro are shown
    # there, steps without one only in the guide.
    intro: LazyString | None = None
