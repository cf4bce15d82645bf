"""Outgoing mail (password resets, invitations): SMTP when ``smtp_host`` is set, else the server log.

An embedded server usually has no mail server; then what the recipient must do (with the token) is
written to the log at WARNING so the operator can pass it on by hand. That is the one place a single-use token reaches a
log, on purpose, and only the operator can read it. Delivery failures are logged and reported as
``False``, never raised: forgot-password must answer the same whether or not mail went out.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import urlencode

from pixelmill.config import Settings

log = logging.getLogger("pixelmill.mail")


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """One message; ``action`` is what the recipient must do with it, repeated in the log when there
    is no SMTP server (it holds the single-use token)."""

    to: str
    subject: str
    body: str
    action: str


class Mailer:
    """Sends OutgoingMail through the configured SMTP server, or hands it to the operator's log."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def uses_smtp(self) -> bool:
        return bool(self.settings.smtp_host)

    async def send(self, mail: OutgoingMail) -> bool:
        """Deliver ``mail``; True when an SMTP server accepted it or it was logged for the operator."""
        if not self.uses_smtp:
            log.warning(
                "no smtp_host is configured, so this mail was not sent; pass it on by hand: "
                "to=%s subject=%r action: %s",
                mail.to,
                mail.subject,
                mail.action,
            )
            return True
        try:
            await asyncio.to_thread(self._send_smtp, mail)
        except (OSError, smtplib.SMTPException) as exc:
            log.error(
                "mail delivery failed",
                extra={"to": mail.to, "subject": mail.subject, "error": f"{type(exc).__name__}: {exc}"},
            )
            return False
        log.info("mail sent", extra={"to": mail.to, "subject": mail.subject})
        return True

    def _send_smtp(self, mail: OutgoingMail) -> None:
        settings = self.settings
        assert settings.smtp_host is not None
        message = EmailMessage()
        message["From"] = settings.mail_from
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                smtp.login(settings.smtp_username, password)
            smtp.send_message(message)


def password_reset_mail(
    to: str, token: str, *, public_url: str, ttl_seconds: int, console_url: str | None = None
) -> OutgoingMail:
    """The reset mail. With ``console_url`` (a server that knows the address people reach it at) the
    mail names the console's reset page, which a person can follow; the API call stays beside it
    for clients, and is the only way when the server cannot know a link that works from outside."""
    action = f'POST {public_url}/v1/auth/reset-password with JSON {{"token": "{token}", "new_password": "…"}}'
    if console_url is None:
        how = f"To choose a new password: {action}"
    else:
        link = f"{console_url}/reset-password?{urlencode({'token': token})}"
        how = f"To choose a new password, open {link}\n\nOr from a client: {action}"
    body = (
        "Someone asked to reset the password of your pixelmill account.\n\n"
        f"{how}\n\n"
        f"The token works once, for {ttl_seconds // 60} minutes. If you did not ask for this, ignore this mail."
    )
    return OutgoingMail(to=to, subject="Reset your pixelmill password", body=body, action=action)


def invitation_mail(
    to: str, token: str, *, workspace_name: str, role: str, public_url: str, ttl_seconds: int
) -> OutgoingMail:
    action = f'POST {public_url}/v1/invitations/accept with JSON {{"token": "{token}"}}'
    body = (
        f"You are invited to join the pixelmill workspace {workspace_name!r} as {role}.\n\n"
        f"Sign up or log in with this email address ({to}), then accept: {action}\n\n"
        f"The invitation works once, for {max(1, ttl_seconds // 86400)} day(s)."
    )
    return OutgoingMail(to=to, subject=f"Join {workspace_name} on pixelmill", body=body, action=action)
