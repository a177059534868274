"""The texts of the result fragment: what each step is called and what its
detail line says, and for each diagnosis code what happened and what to do.

`explain` picks the texts for a result and fills them in. Placeholders name
fields (filled with their labels) or facts: the diagnosis's own (see
`mail/result.py`) and those `explain.failure_facts` adds. A fact that a
diagnosis does not have reads as empty.

The same fragment reports a test of the settings and the sending of a
document, so no text a failure shows may call the attempt a test.

One module a concern: steps.py (step titles and detail lines), delivery.py
(the delivery codes), oauth.py (signing in with Microsoft or Google),
providers.py (the checklist and the providers' steps); here they are joined
into the tables the rest of the app reads.
"""
from dataclasses import replace

from . import delivery, oauth, providers, steps
from .model import Explanation, ProviderSteps
from .oauth import OAUTH_PROVIDER_NAMES, SIGN_IN_AGAIN, SIGN_IN_BUTTONS
from .providers import TROUBLESHOOTING
from .steps import STEP_DETAIL

STEP_TITLES = {**steps.STEP_TITLES, **oauth.OAUTH_STEP_TITLES}

EXPLANATIONS: dict[str, Explanation] = {
    **delivery.EXPLANATIONS,
    **oauth.OAUTH_EXPLANATIONS,
    # A delivery code met while signed in with OAuth: its OAuth variant first.
    **{code: replace(delivery.EXPLANATIONS[code],
                     variants={"oauth": variant, **delivery.EXPLANATIONS[code].variants})
       for code, variant in oauth.OAUTH_VARIANTS.items()},
}

PROVIDER_STEPS: dict[str, ProviderSteps] = {
    **providers.PROVIDER_STEPS,
    "microsoft_365": oauth.MICROSOFT_365_STEPS,
}

__all__ = ["EXPLANATIONS", "Explanation", "OAUTH_PROVIDER_NAMES", "PROVIDER_STEPS", "ProviderSteps",
           "SIGN_IN_AGAIN", "SIGN_IN_BUTTONS", "STEP_DETAIL", "STEP_TITLES", "TROUBLESHOOTING"]
