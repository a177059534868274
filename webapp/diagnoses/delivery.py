"""For each diagnosis code of a delivery (network, TLS, SMTP, HTTP): what
happened and what to do."""
from ..i18n import lazy_gettext as _l

from .model import Explanation

_CHECK_SERVER_AND_PORT = _l(
    "Compare %(smtp_host)s and %(smtp_port)s with your email provider's instructions.")

# Over HTTP, the advice points at the HTTP server field instead.
_HTTP_CHECK_ADDRESS = _l("Check the address and port in %(http_url)s.")
_HTTP_CHECK_CONNECTION = _l("Check this computer's internet connection and %(http_url)s.")
_HTTP_CHECK_UNBLOCKED = _l("Check %(http_url)s, and that no firewall or antivirus program blocks "
                           "this computer's outgoing connections.")
_HTTP_CHECK_TLS = _l("Check that %(http_url)s points to a web server that supports HTTPS with "
                     "TLS 1.2 or later.")
_HTTP_NEEDS_VALID_CERTIFICATE = _l(
    "The HTTP server needs a valid certificate: check %(http_url)s, or ask the provider of the "
    "mail service.")

EXPLANATIONS: dict[str, Explanation] = {
    "name_not_found": Explanation(
        _l("The server name was not found"),
        _l("No server called %(host)s could be found. The name may be misspelt, or this "
           "computer may not be connected to the internet."),
        _l("Check the spelling of the server name against your email provider's instructions, "
           "and check that this computer can open web pages."),
        troubleshooting=True),
    "connection_refused": Explanation(
        _l("The server refused the connection"),
        _l("%(host)s was reached, but nothing accepts connections on port %(port)s."),
        _l("Check %(smtp_port)s: most email providers use 465 or 587. A firewall on the "
           "server's side can also refuse the connection."),
        troubleshooting=True, http_advice=_HTTP_CHECK_ADDRESS),
    "network_unreachable": Explanation(
        _l("The server could not be reached"),
        _l("The network reported an error before the server at %(host)s could be reached."),
        _l("Check this computer's internet connection, and that no firewall or antivirus "
           "program blocks outgoing connections to port %(port)s."),
        troubleshooting=True, http_advice=_HTTP_CHECK_CONNECTION),
    "timed_out": Explanation(
        _l("The server did not answer in time"),
        _l("No answer came in time at this step, so Sendwell gave up after %(seconds)s seconds."),
        _l("Check %(smtp_host)s and %(smtp_port)s. Firewalls, antivirus programs and some "
           "internet providers silently block mail ports (port 25 most often): try 587 or 465."),
        troubleshooting=True, http_advice=_HTTP_CHECK_UNBLOCKED),
    "destination_forbidden": Explanation(
        _l("This server address is not allowed here"),
        _l("%(host)s points to an address in a private network or on this computer, and this "
           "installation of Sendwell is set up not to connect to such addresses."),
        _l("Use your email provider's public server name, or ask the person who runs Sendwell.")),
    "connection_dropped": Explanation(
        _l("The server closed the connection"),
        _l("The server ended the connection before it had accepted the email, so Sendwell "
           "cannot count the email as sent."),
        # TRANSLATORS: Also after a failed document send: "try again", not "test again".
        _l("Try again. If it happens again, a firewall or antivirus program may be cutting "
           "the connection, or the server may be refusing this computer."),
        troubleshooting=True),
    "tls_handshake_failed": Explanation(
        _l("The encrypted connection could not be set up"),
        _l("Sendwell and the server could not agree on how to encrypt the connection."),
        _l("Check %(smtp_port)s: 465 expects TLS from the first byte, 587 starts with STARTTLS. "
           "A very old server may not support TLS 1.2 or later; then ask your email provider."),
        troubleshooting=True, http_advice=_HTTP_CHECK_TLS),
    "certificate_untrusted": Explanation(
        _l("The server's certificate is not trusted"),
        _l("The certificate the server presented was not issued by an authority this computer "
           "trusts."),
        _l("If this is your own mail server, compare the certificate below with the one its "
           "administrator sees and, if they match, press %(trust_button)s. Otherwise ask your "
           "email provider which server name to use."),
        http_advice=_HTTP_NEEDS_VALID_CERTIFICATE,
        variants={
            # A well-known provider's certificate is always valid, so here
            # the advice is the opposite of the self-signed case's.
            "provider": Explanation(
                _l("The server's certificate is not trusted"),
                _l("%(provider)s always presents a valid certificate, so something between this "
                   "computer and %(provider)s is intercepting the connection: often an antivirus "
                   "program or a company firewall that scans email."),
                # TRANSLATORS: Also after a failed document send: "try again", not "test again".
                _l("Do not tick %(skip_tls_verify)s for %(provider)s. Turn off email scanning in "
                   "the antivirus program or ask your network administrator, then try again."),
                troubleshooting=True),
            "self_signed": Explanation(
                _l("The server's certificate is self-signed"),
                _l("The server signed its own certificate, so nobody vouches that it really is "
                   "%(host)s."),
                _l("If this is your own mail server, compare the certificate below with the one "
                   "its administrator sees and, if they match, press %(trust_button)s: Sendwell "
                   "then accepts only this certificate. Ticking %(skip_tls_verify)s works too, but "
                   "accepts any certificate from anyone, so someone in between could take your "
                   "password. Never do either for a server you do not run yourself."),
                http_advice=_HTTP_NEEDS_VALID_CERTIFICATE),
        }),
    "certificate_wrong_host": Explanation(
        _l("The certificate belongs to another server"),
        _l("The server presented a certificate for %(names)s, not for %(host)s."),
        _l("Use the server name your email provider gives, exactly as written: it must match "
           "the certificate.")),
    "certificate_expired": Explanation(
        _l("The server's certificate has expired"),
        _l("The certificate the server presented is no longer valid (or not yet valid)."),
        _l("Check that this computer's date and time are right. If they are, the server's "
           "administrator must renew the certificate.")),
    "certificate_changed": Explanation(
        _l("The server's certificate has changed"),
        _l("The server presented a different certificate from the one you trusted, so Sendwell "
           "stopped before sending your password. Either the server's administrator has replaced "
           "the certificate (for example, renewed it), or someone between this computer and the "
           "server is intercepting the connection."),
        # TRANSLATORS: Also after a failed document send: "try again", not "test again".
        _l("Ask the server's administrator whether they replaced the certificate, and compare "
           "its fingerprint with the new one below. Only if they match, trust the new "
           "certificate and try again; if they do not, do not send from this network and tell "
           "the administrator.")),
    "not_smtp": Explanation(
        _l("This is not a mail server"),
        _l("Something answered at %(host)s on port %(port)s, but it does not speak SMTP."),
        _CHECK_SERVER_AND_PORT,
        troubleshooting=True),
    "greeting_refused": Explanation(
        _l("The server turned the connection away"),
        _l("The server refused to talk to this computer right at the start."),
        _l("Your email provider may be blocking this computer's internet address. The server's "
           "answer may say why; if it does not, ask your provider.")),
    "temporary_failure": Explanation(
        _l("The server is temporarily unable to continue"),
        _l("The server answered with a temporary error: nothing is wrong with the settings as "
           "such."),
        # TRANSLATORS: Also after a failed document send: "try again", not "test again".
        _l("Wait a few minutes and try again. If it keeps happening, your email provider may "
           "be limiting how much you can send.")),
    "plain_on_tls_port": Explanation(
        _l("The server expects STARTTLS on this port"),
        _l("Sendwell started with TLS from the first byte, but the server at port %(port)s "
           "answered in plain text: it expects the connection to switch to encryption later, "
           "with STARTTLS."),
        _l("Set %(smtp_port)s to %(suggested_port)s.")),
    "tls_expected_on_connect": Explanation(
        _l("The server expects TLS from the first byte"),
        _l("Sendwell waited for the server to greet it in plain text, but the server at port "
           "%(port)s waits for an encrypted connection from the start."),
        _l("Set %(smtp_port)s to %(suggested_port)s.")),
    "starttls_not_offered": Explanation(
        _l("The server does not offer encryption"),
        _l("This connection must switch to encryption with STARTTLS, and the server does not "
           "offer it. Sendwell stopped before sending your password."),
        _l("Check %(smtp_host)s and %(smtp_port)s. If your email provider supports port 465, "
           "try it."),
        troubleshooting=True),
    "starttls_refused": Explanation(
        _l("The server refused to switch to encryption"),
        _l("The server offered STARTTLS but then refused it. Sendwell stopped before sending "
           "your password."),
        # TRANSLATORS: Also after a failed document send: "try again", not "test again".
        _l("Try again in a few minutes. If it keeps happening, use port 465 or ask your email "
           "provider.")),
    "starttls_injection": Explanation(
        _l("The connection was tampered with"),
        _l("Right after the server agreed to switch to encryption, more unencrypted data "
           "arrived. That is how an attacker slips fake answers into a connection, so Sendwell "
           "stopped before sending your password."),
        # TRANSLATORS: Also after a failed document send: "try again", not "test again".
        _l("Try again. If it happens again, something on this network interferes with email: "
           "try port 465 or another network, and tell whoever runs the network.")),
    "unencrypted_login": Explanation(
        _l("Sendwell will not send the password unencrypted"),
        _l("The connection to %(host)s is not encrypted: the server did not switch to "
           "encryption with STARTTLS. Anyone on the way could read the password, so Sendwell "
           "stopped before sending it."),
        _l("Set %(smtp_port)s to 465 or 587 if your email provider supports them. Without "
           "encryption, Sendwell signs in only to servers on this computer or in your local "
           "network.")),
    "auth_not_offered": Explanation(
        _l("The server does not offer a sign-in here"),
        _l("You entered a username, but the server offers no way to sign in on this "
           "connection."),
        _l("Many servers accept a sign-in only on port 587 or 465: check %(smtp_port)s. If "
           "your server needs no sign-in, leave %(username)s empty.")),
    "login_refused": Explanation(
        _l("The server refused the username or password"),
        _l("The server did not accept the username and password you entered."),
        _l("Type the password again, carefully. Many email providers need an app password for "
           "programs like Sendwell instead of your usual password."),
        troubleshooting=True,
        provider_steps=True),
    "smtp_auth_disabled": Explanation(
        _l("Microsoft 365 does not allow SMTP sign-in for this mailbox"),
        _l("Your organization's Microsoft 365 settings turn off sign-in with SMTP (SMTP AUTH), "
           "so the password was not even checked."),
        # TRANSLATORS: Also after a failed document send: "try again", not "test again".
        # The Microsoft 365 admin center is offered in Slovenian, Italian,
        # Japanese and Spanish: use Microsoft's own labels there. It is not offered in
        # Swahili: quote each menu in English as it appears on screen, with a Swahili
        # translation in parentheses.
        _l("Ask your Microsoft 365 administrator to turn on Authenticated SMTP for this "
           "mailbox (in the Microsoft 365 admin center: Users, Active users, the user, Mail, "
           "Manage email apps), then try again.")),
    "auth_required": Explanation(
        _l("The server requires you to sign in"),
        _l("The server sends email only for users who sign in first."),
        _l("Fill in %(username)s and %(password)s with the details of your email account.")),
    "sender_refused": Explanation(
        _l("The server refused the sender"),
        _l("The server does not accept %(address)s as the sender."),
        _l("Send from the address of the account you sign in with: most email providers allow "
           "only your own addresses as the sender.")),
    "relay_denied": Explanation(
        _l("The server will not pass the email on"),
        _l("The server delivers email only from signed-in users or to its own addresses, and "
           "refused to relay this one."),
        _l("Fill in %(username)s and %(password)s, and send from your own address.")),
    "recipient_refused": Explanation(
        _l("The server refused the recipient"),
        _l("The server does not accept %(address)s as a recipient."),
        _l("Check the recipient's address for typing errors.")),
    "message_too_large": Explanation(
        _l("The email is too large for the server"),
        _l("The server accepts messages only up to a certain size, and this one is larger."),
        _l("Send a smaller file, or ask your email provider about its size limit.")),
    "message_refused": Explanation(
        _l("The server refused the email"),
        _l("The server refused to accept the message itself; its words below usually say why "
           "(often a spam filter)."),
        _l("If the server's answer mentions spam or policy, ask your email provider why it "
           "refuses the email; otherwise check the sender address.")),
    "http_bad_url": Explanation(
        _l("This address cannot be used"),
        _l("The address must start with https://. Plain http:// is allowed only for addresses "
           "on this computer (localhost)."),
        _l("Correct %(http_url)s.")),
    "http_redirect": Explanation(
        _l("The HTTP server sent Sendwell elsewhere"),
        _l("The server answered with a redirect to %(location)s. Sendwell does not follow "
           "redirects, so your email and credentials go only where you said."),
        _l("If that address is right, put it in %(http_url)s.")),
    "http_status": Explanation(
        _l("The HTTP server answered with an error"),
        _l("The server answered with status %(status)s instead of accepting the email."),
        _l("Status 401 or 403 usually means wrong credentials in %(http_url)s; 404 a wrong "
           "address; 5xx a problem on the server's side. The server's answer may say more.")),
    "internal_error": Explanation(
        _l("Something went wrong in Sendwell"),
        # TRANSLATORS: Also after a failed document send: do not call it a test.
        _l("Sendwell stopped because of an unexpected error of its own."),
        # TRANSLATORS: Also after a failed document send: "try again", not "test again".
        _l("Try again. If it keeps happening, the details are in Sendwell's log.")),
}
