"""The texts for signing in with OAuth: the steps "Get a sign-in token" and
"Sign in with the provider", and an Explanation for each OAuth diagnosis
code (mail/oauth_errors.py, mail/xoauth2.py), joined to the
other tables in __init__.py. Besides the labels and the mail layer's facts, the texts use the
facts explain.py derives: %(oauth_provider)s (Microsoft or Google) and
%(sign_in_button)s (the sign-in button's label).

Names on the providers' pages are written as the user sees them there; each
such text has a TRANSLATORS comment.
"""
from ..i18n import lazy_gettext as _l

from .delivery import EXPLANATIONS as DELIVERY_EXPLANATIONS
from .model import Explanation, ProviderSteps

# The providers' names, and the sign-in button each one's texts point at.
OAUTH_PROVIDER_NAMES = {"microsoft": "Microsoft", "google": "Google"}
SIGN_IN_BUTTONS = {"microsoft": _l("Sign in with Microsoft"), "google": _l("Sign in with Google")}
# Failures that a new sign-in mends: the result offers the sign-in button.
SIGN_IN_AGAIN = {"xoauth2_refused", "oauth_grant_revoked", "oauth_no_refresh_token",
                 "oauth_consent_refused"}

OAUTH_STEP_TITLES = {
    "token": _l("Get a sign-in token"),
    "authorize": _l("Sign in with the provider"),
}

_SIGN_IN_AGAIN = _l("Press %(sign_in_button)s to sign in again, then try again and save the "
                    "settings.")

OAUTH_EXPLANATIONS: dict[str, Explanation] = {
    "basic_auth_disabled": Explanation(
        _l("Microsoft 365 no longer accepts a password here"),
        _l("The server refused the password because password sign-in (Basic authentication) is "
           "turned off for sending with SMTP. Microsoft turns it off by default for every "
           "existing Microsoft 365 organization at the end of December 2026, and new "
           "organizations never have it."),
        _l("Choose Microsoft 365 (OAuth) in %(sign_in_method)s, register an app for Sendwell as "
           "the guide shows, and sign in with Microsoft.")),
    "xoauth2_refused": Explanation(
        _l("The server refused the sign-in token"),
        _l("%(host)s did not accept the sign-in token that Sendwell got from "
           "%(oauth_provider)s. The sign-in may have been revoked, or the app may not have the "
           "permission to send email."),
        # TRANSLATORS: SMTP.Send is a permission's name; "Authenticated SMTP" is the
        # Microsoft 365 admin center's name for the setting (as in the other texts).
        _l("Press %(sign_in_button)s to sign in again, then try again. If it still fails: for "
           "Microsoft 365, check that the app has the delegated permission SMTP.Send and that "
           "Authenticated SMTP is on for the mailbox; for Google, that the account can use "
           "Gmail."),
        variants={
            "account_differs": Explanation(
                _l("The signed-in account is not the mailbox in %(username)s"),
                _l("You signed in as %(account)s, but %(username)s says %(login)s, and the "
                   "server does not let %(account)s send as %(login)s."),
                _l("Enter %(account)s in %(username)s, or sign in with the account of "
                   "%(login)s; then press %(sign_in_button)s again. To send from a shared "
                   "mailbox, an administrator must first give %(account)s permission to send "
                   "as it.")),
        }),
    "oauth_consent_refused": Explanation(
        _l("The sign-in was cancelled"),
        _l("%(oauth_provider)s reports that the access Sendwell asked for was not granted: "
           "someone chose to cancel or deny it, or your organization lets only an administrator "
           "approve new apps."),
        # TRANSLATORS: the names after "Microsoft Entra admin center" are its menu items
        # and button, as the admin center shows them in this language.
        _l("Press %(sign_in_button)s again and accept. If you are asked for an administrator's "
           "approval, ask your administrator to grant it (Microsoft Entra admin center: App "
           "registrations, the app, API permissions, Grant admin consent).")),
    "oauth_redirect_mismatch": Explanation(
        _l("The redirect address is not registered"),
        _l("%(oauth_provider)s refused to send you back to Sendwell, because the app's "
           "registration does not list this exact address: %(redirect_uri)s"),
        # TRANSLATORS: "Web" and "Authorized redirect URIs" as the Microsoft Entra admin
        # center and the Google Cloud console show them in this language.
        _l("Add %(redirect_uri)s to the app's registration exactly as written here (Microsoft: "
           "as a Web redirect URI; Google: under Authorized redirect URIs), then sign in "
           "again.")),
    "oauth_client_rejected": Explanation(
        _l("The client secret was refused"),
        _l("%(oauth_provider)s did not accept the app's client secret: it is not the app's, or "
           "it has expired."),
        # TRANSLATORS: "Value" and "Secret ID" are the column names in the Microsoft Entra
        # admin center's list of client secrets.
        _l("Create a new client secret for the app, enter it in %(oauth_client_secret)s and "
           "try again. From the Microsoft Entra admin center, copy the secret's Value, not its "
           "Secret ID."),
        variants={
            "secret_expired": Explanation(
                _l("The client secret has expired"),
                _l("The app's client secret has passed its expiry date, so Microsoft no longer "
                   "accepts it. The sign-in itself is still valid."),
                # TRANSLATORS: the menu items and button of the Microsoft Entra admin center.
                _l("In the Microsoft Entra admin center, open App registrations, the app, "
                   "Certificates & secrets, and choose New client secret. Enter its Value in "
                   "%(oauth_client_secret)s, try again and save the settings.")),
            "client_unknown": Explanation(
                _l("The app was not found"),
                _l("%(oauth_provider)s knows no app with this %(oauth_client_id)s, or the app is "
                   "registered in another directory."),
                # TRANSLATORS: "Application (client) ID" (Microsoft Entra admin center) and
                # "Client ID" (Google Cloud console) as they show them.
                _l("Copy the ID from the app's registration again into %(oauth_client_id)s "
                   "(Microsoft: Application (client) ID; Google: Client ID). For Microsoft 365, "
                   "check %(oauth_tenant)s too.")),
        }),
    "oauth_grant_revoked": Explanation(
        _l("The sign-in is no longer valid"),
        _l("%(oauth_provider)s no longer accepts Sendwell's sign-in: it was revoked (for example "
           "after a password change, or when the app's access was removed) or it expired after "
           "a long time unused."),
        _SIGN_IN_AGAIN,
        variants={
            "sign_in_required": Explanation(
                _l("Microsoft asks you to sign in again"),
                _l("Your organization's rules (for example multi-factor authentication or a "
                   "changed policy) require a new sign-in before Sendwell may send email."),
                _SIGN_IN_AGAIN),
            "testing_expiry": Explanation(
                _l("Google no longer accepts the sign-in"),
                _l("Google ended Sendwell's sign-in: it was revoked, or it expired. Until an app is "
                   "published, Google ends its sign-ins after 7 days."),
                # TRANSLATORS: "In production" and "Internal" as the Google Cloud console
                # shows them.
                _l("Press %(sign_in_button)s to sign in again. So that it does not happen every "
                   "week, publish the app in the Google Cloud console (In production) or, in Google "
                   "Workspace, make it Internal; the guide shows how.")),
        }),
    "oauth_no_refresh_token": Explanation(
        _l("The sign-in does not last"),
        _l("%(oauth_provider)s signed you in but gave Sendwell no refresh token, so Sendwell "
           "could send email for about an hour only."),
        # TRANSLATORS: offline_access is a permission's name; "Security" is a page of the
        # Google Account.
        _l("Press %(sign_in_button)s again. For Microsoft 365, check that the app's API "
           "permissions include offline_access; for Google, remove Sendwell's access in your "
           "Google Account under Security, then sign in again.")),
    "oauth_provider_error": Explanation(
        _l("The sign-in was refused"),
        _l("%(oauth_provider)s answered with the error %(error)s; its own words are below."),
        _l("Check %(oauth_client_id)s and, for Microsoft 365, %(oauth_tenant)s, then sign in "
           "again. If the provider's words name a setting of the app, correct it in the app's "
           "registration."),
        variants={
            "tenant_required": Explanation(
                _l("Enter your directory"),
                _l("The app accepts accounts of your organization only, so Microsoft needs to "
                   "know which organization: its directory."),
                # TRANSLATORS: "Directory (tenant) ID" and "Overview" as the Microsoft Entra
                # admin center shows them.
                _l("Copy the Directory (tenant) ID from the app's Overview page in the Microsoft "
                   "Entra admin center into %(oauth_tenant)s, then sign in again.")),
        }),
    "oauth_bad_answer": Explanation(
        _l("The sign-in service's answer cannot be used"),
        _l("%(token_host)s did not answer as a sign-in service does (HTTP status %(status)s)."),
        _l("Try again in a few minutes. If this installation of Sendwell has its own sign-in "
           "addresses (the SENDWELL_OAUTH_ settings), have them checked.")),
}

# Existing codes that read differently when the sign-in is OAuth (fact "oauth").
OAUTH_VARIANTS: dict[str, Explanation] = {
    "smtp_auth_disabled": Explanation(
        _l("SMTP sign-in is turned off for this mailbox"),
        _l("Microsoft 365 accepts no sign-in for sending with SMTP for this mailbox or "
           "organization (SMTP AUTH is off), not even with OAuth. The sign-in with Microsoft "
           "itself worked."),
        DELIVERY_EXPLANATIONS["smtp_auth_disabled"].advice),
    "auth_not_offered": Explanation(
        _l("The server does not offer sign-in with OAuth"),
        _l("The server offers no XOAUTH2 sign-in on this connection, so Sendwell cannot use the "
           "sign-in with %(oauth_provider)s there. Sendwell never sends a sign-in token over an "
           "unencrypted connection."),
        _l("Set %(smtp_host)s and %(smtp_port)s to your provider's server: smtp.office365.com "
           "for Microsoft 365 or smtp.gmail.com for Google, port 587.")),
}


# Microsoft 365's steps (its guide section): sign in with OAuth, since Microsoft
# 365 stops taking passwords for SMTP.
MICROSOFT_365_STEPS = ProviderSteps(
    steps=(
        _l("Choose Microsoft 365 (OAuth) in %(sign_in_method)s: %(smtp_host)s and %(smtp_port)s "
           "are filled in with smtp.office365.com and 587."),
        # TRANSLATORS: the Microsoft Entra admin center by the name it has in this
        # language's guide (sl, sw: its English name).
        _l("Register Sendwell in the Microsoft Entra admin center, as described below, and enter "
           "its details in %(oauth_client_id)s, %(oauth_client_secret)s and %(oauth_tenant)s."),
        _l("Press %(sign_in_button)s and sign in with the account of the mailbox you send from. "
           "Sendwell fills in %(username)s."),
        # TRANSLATORS: The Microsoft 365 admin center is offered in Slovenian,
        # Italian, Japanese and Spanish: use Microsoft's own labels there. It is not
        # offered in Swahili: quote each menu in English as it appears on screen,
        # with a Swahili translation in parentheses.
        _l("If the test fails with the server's answer 5.7.139, sign-in with SMTP (SMTP AUTH) "
           "is turned off: ask your Microsoft 365 administrator to turn on Authenticated SMTP "
           "for this mailbox (Microsoft 365 admin center: Users, Active users, the user, Mail, "
           "Manage email apps)."),
    ))

