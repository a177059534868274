"""The guide's texts for signing in with OAuth: what changes for Microsoft 365
at the end of December 2026, how to use the sign-in, and how to register
Sendwell with Microsoft Entra and with Google Cloud.

Names on the providers' pages are written as the user sees them there. The
Microsoft Entra admin center and the Microsoft 365 admin center are offered
in Italian, Japanese and Spanish but not in Slovenian or Swahili; there, and
for the Google Cloud console in those two languages, the names stay in
English with a translation in parentheses. Each such text has a TRANSLATORS
comment.
"""
from .i18n import lazy_gettext as _l

SIGN_IN = (
    _l("With Microsoft 365 (OAuth) or Google (OAuth) in %(sign_in_method)s, Sendwell does not "
       "use your password. You register Sendwell once as an app with your provider, enter the "
       "app's details here and press the sign-in button: the provider's own page asks you to "
       "sign in and to allow Sendwell to send email. Back in Sendwell, the page says which "
       "account is signed in."),
    _l("Sendwell keeps the sign-in encrypted, like a password, for the %(smtp_host)s, "
       "%(smtp_port)s, %(username)s and %(oauth_client_id)s it was made with: after you change "
       "one of them, sign in again. %(sign_out)s forgets the sign-in; with Google it also ends "
       "it there."),
    _l("To send from a shared mailbox, enter its address in %(username)s before you sign in; "
       "the signed-in account needs permission to send as that mailbox."),
    # TRANSLATORS: AADSTS50011 and redirect_uri_mismatch are the providers' error codes.
    _l("If Microsoft or Google shows an error page about the redirect address (AADSTS50011 or "
       "redirect_uri_mismatch) instead of asking you to sign in, the address registered with "
       "the app is not exactly the one in %(oauth_redirect_uri)s: copy it again with %(copy)s."),
)

# Leads into Microsoft 365's steps (diagnoses.PROVIDER_STEPS) in the guide.
MICROSOFT_CHANGE = _l(
    "What changes at the end of December 2026: Microsoft turns off password sign-in (Basic "
    "authentication) for sending with SMTP in every existing Microsoft 365 organization, and "
    "organizations created after that never have it. A password in Sendwell then gets the "
    "answer 5.7.30 and no email goes out. Sign in with OAuth instead, as below; it already "
    "works today.")

ENTRA_STEPS = (
    # TRANSLATORS: the Microsoft Entra admin center's names, here and in the next steps, as
    # it shows them in this language (sl, sw: English, translation in parentheses).
    _l("Sign in to the Microsoft Entra admin center (entra.microsoft.com) with an account that "
       "may register apps, for example an administrator's."),
    # TRANSLATORS: Microsoft Entra admin center: "Applications", "App registrations",
    # "New registration".
    _l("Under Applications, open App registrations and choose New registration."),
    # TRANSLATORS: Microsoft Entra admin center: "Redirect URI", "Web", "Register".
    _l("Enter a name such as Sendwell. Under Redirect URI, choose Web and paste the address "
       "from %(oauth_redirect_uri)s. Choose Register."),
    # TRANSLATORS: Microsoft Entra admin center: "Overview", "Application (client) ID",
    # "Directory (tenant) ID".
    _l("On the app's Overview page, copy the Application (client) ID into %(oauth_client_id)s "
       "and the Directory (tenant) ID into %(oauth_tenant)s."),
    # TRANSLATORS: Microsoft Entra admin center: "Certificates & secrets", "New client
    # secret", "Expires", "Add", "Value".
    _l("Open Certificates & secrets and choose New client secret. Pick when it expires (at most "
       "24 months) and choose Add. Copy its Value at once, as it is shown only this once, into "
       "%(oauth_client_secret)s. Before that date, create a new secret and enter it in "
       "Sendwell."),
    # TRANSLATORS: Microsoft Entra admin center: "API permissions", "Add a permission",
    # "Microsoft Graph", "Delegated permissions", "Add permissions", "Grant admin consent".
    _l("Open API permissions, choose Add a permission, then Microsoft Graph and Delegated "
       "permissions. Tick SMTP.Send, and offline_access, openid and email if they are not "
       "listed yet, then choose Add permissions. If your organization asks for it, choose "
       "Grant admin consent."),
    # TRANSLATORS: the Microsoft 365 admin center's names, as in the other texts.
    _l("In the Microsoft 365 admin center, check that Authenticated SMTP is on for the mailbox: "
       "Users, Active users, the user, Mail, Manage email apps."),
)

GOOGLE_INTRO = (
    _l("Instead of an app password, you can sign in with Google: Sendwell then needs no "
       "password at all."),
)

GOOGLE_STEPS = (
    _l("Choose Google (OAuth) in %(sign_in_method)s: %(smtp_host)s and %(smtp_port)s are filled "
       "in with smtp.gmail.com and 587."),
    _l("Register Sendwell in the Google Cloud console, as described below, and enter its "
       "details in %(oauth_client_id)s and %(oauth_client_secret)s."),
    _l("Press %(sign_in_button)s and sign in with the Gmail or Google Workspace account you send from. "
       "Sendwell fills in %(username)s."),
)

GOOGLE_CLOUD_STEPS = (
    # TRANSLATORS: the Google Cloud console's names, here and in the next steps, as it shows
    # them in this language (sl, sw: English, translation in parentheses).
    _l("Open the Google Cloud console (console.cloud.google.com) and create a project for "
       "Sendwell, or choose one."),
    # TRANSLATORS: Google Cloud console: "APIs & Services", "OAuth consent screen",
    # "Internal", "External".
    _l("Open APIs & Services, then OAuth consent screen, and enter the app's name and your email "
       "address. With Google Workspace, choose Internal: only your organization's accounts can "
       "sign in, and the sign-in does not expire. With a personal Gmail account, choose "
       "External."),
    # TRANSLATORS: Google Cloud console: "Testing", "In production" (publishing status).
    _l("An External app starts in Testing, and Google ends its sign-ins after 7 days: publish "
       "the app so that it is In production. Google may then warn that it has not verified the "
       "app; it is your own app, so you can continue."),
    # TRANSLATORS: Google Cloud console: "Credentials", "Create credentials", "OAuth client
    # ID", "Application type", "Web application", "Authorized redirect URIs", "Create".
    _l("Open Credentials, choose Create credentials, then OAuth client ID. As the Application "
       "type, choose Web application; under Authorized redirect URIs, add the address from "
       "%(oauth_redirect_uri)s. Choose Create."),
    # TRANSLATORS: Google Cloud console: "Client ID", "Client secret".
    _l("Copy the Client ID into %(oauth_client_id)s and the Client secret into "
       "%(oauth_client_secret)s."),
)
