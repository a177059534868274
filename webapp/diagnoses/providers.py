"""The general checklist, and step by step for the providers whose sign-in
rules people trip over most. The result under a refused sign-in and the guide
show the same steps."""
from flask_babel import LazyString

from ..i18n import lazy_gettext as _l
from .model import ProviderSteps

# The general checklist, under a failure and in the guide.
TROUBLESHOOTING: tuple[LazyString, ...] = (
    _l("Check %(smtp_host)s, %(smtp_port)s, %(username)s and %(password)s once more."),
    _l("Some email providers require an app password instead of your usual password."),
    _l("Make sure no firewall or antivirus program blocks the connection to the mail server."),
    _l("Try the same settings in another email program: if it fails there too, the settings "
       "are wrong; if it works, something on this computer or network blocks Sendwell."),
)


# Step by step, for the providers whose sign-in rules people trip over most,
# keyed by `Provider.steps_key`. The guide shows the same steps. Whether a
# provider's pages are offered in a language is decided per language; each
# text that names the provider's buttons or pages tells translators what was
# decided (TRANSLATORS comments, extracted into the catalogs).
PROVIDER_STEPS: dict[str, ProviderSteps] = {
    "gmail": ProviderSteps(
        intro=_l("Gmail accepts only an app password from programs like Sendwell:"),
        steps=(
            # TRANSLATORS: Google's account pages are offered in every Sendwell
            # language: name Google's labels as Google shows them in yours. Swahili:
            # add the English label in parentheses, as many people there run Google
            # in English.
            _l("Turn on 2-Step Verification in your Google Account."),
            # TRANSLATORS: Google's account pages are offered in every Sendwell
            # language: name Google's labels as Google shows them in yours. Swahili:
            # add the English label in parentheses, as many people there run Google
            # in English.
            _l("Create an app password: in your Google Account, search for App passwords (or open "
               "https://myaccount.google.com/apppasswords) and name it Sendwell."),
            _l("Enter the app password in %(password)s instead of your usual Gmail password."),
            _l("Set %(smtp_host)s to smtp.gmail.com and %(smtp_port)s to 587 (or 465)."),
        )),
    # Yahoo's own help (help.yahoo.com, "Generate and manage 3rd-party app
    # passwords"): Account security, "External connections", Create app
    # password, the app's name, Generate password.
    "yahoo": ProviderSteps(
        intro=_l("Yahoo Mail accepts only an app password from programs like Sendwell:"),
        steps=(
            # TRANSLATORS: Yahoo's account pages are offered in Italian and Spanish:
            # there use Yahoo's own labels, or, where you cannot confirm one, say what
            # to do without quoting a label. They are not offered in Slovenian, Swahili
            # or Japanese: there quote each label in English as Yahoo shows it, with a
            # translation in parentheses.
            _l("Open Yahoo's Account security page: https://login.yahoo.com/account/security"),
            # TRANSLATORS: Yahoo's account pages are offered in Italian and Spanish:
            # there use Yahoo's own labels, or, where you cannot confirm one, say what
            # to do without quoting a label. They are not offered in Slovenian, Swahili
            # or Japanese: there quote each label in English as Yahoo shows it, with a
            # translation in parentheses.
            _l("Under External connections, choose Create app password."),
            # TRANSLATORS: Yahoo's account pages are offered in Italian and Spanish:
            # there use Yahoo's own labels, or, where you cannot confirm one, say what
            # to do without quoting a label. They are not offered in Slovenian, Swahili
            # or Japanese: there quote each label in English as Yahoo shows it, with a
            # translation in parentheses.
            _l("Enter Sendwell as the app's name and choose Generate password."),
            _l("Copy the password Yahoo shows and paste it into %(password)s."),
            _l("Set %(smtp_host)s to smtp.mail.yahoo.com and %(smtp_port)s to 587 or 465."),
        )),
    # What is confirmed: the server and port. The setting that lets mail
    # programs in and the password they use are described by several third
    # parties but could not be checked against Yahoo! JAPAN's own help, so the
    # steps name no menu and point to that help.
    "yahoo_japan": ProviderSteps(
        # TRANSLATORS: Keep the names Yahoo! JAPAN and Yahoo Mail apart: they are
        # different services.
        intro=_l("Yahoo! JAPAN (yahoo.co.jp) is a service of its own, separate from Yahoo Mail, "
                 "with its own server and its own rules for mail programs:"),
        steps=(
            _l("Set %(smtp_host)s to smtp.mail.yahoo.co.jp and %(smtp_port)s to 465."),
            _l("Enter your full yahoo.co.jp email address in %(username)s."),
            # TRANSLATORS: Yahoo! JAPAN's pages are in Japanese only. Keep the names
            # Yahoo! JAPAN and Yahoo!メール as they are. This step quotes no menu label
            # (none could be confirmed from Yahoo! JAPAN's own help): describe the
            # setting, do not invent a label. Japanese: Yahoo! JAPAN's own wording.
            _l("In the settings of Yahoo!メール (Yahoo! JAPAN's mail), check that mail programs "
               "are allowed access (IMAP/POP/SMTP), SMTP included."),
            # TRANSLATORS: Yahoo! JAPAN's help is in Japanese only; in Japanese, leave
            # out "(in Japanese)".
            _l("Yahoo! JAPAN's help (in Japanese) explains that setting and which password mail "
               "programs sign in with: https://support.yahoo-net.jp/PccMail/s/article/H000007321"),
        )),
    # "microsoft_365" (signing in with OAuth) is in oauth.py.
}
