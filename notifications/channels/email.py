"""Email over SMTP with Django's backend: a text part and an HTML part."""

import smtplib

from django.core.mail import BadHeaderError, EmailMultiAlternatives

from notifications.channels import DeliveryError


def email_send(*, to: str, subject: str, text: str, html: str, message_id: str) -> None:
    """`message_id` is the notification's own identity, so a copy sent again after a worker died
    carries the same Message-ID (mail systems drop the duplicate)."""
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to], headers={"Message-ID": message_id})
    if html:
        message.attach_alternative(html, "text/html")
    try:
        message.send(fail_silently=False)
    except BadHeaderError as error:
        raise DeliveryError(f"bad header: {error}", permanent=True) from error
    except smtplib.SMTPRecipientsRefused as error:
        raise DeliveryError(f"recipient refused: {error.recipients}", permanent=True) from error
    except smtplib.SMTPResponseException as error:
        raise DeliveryError(
            f"SMTP {error.smtp_code}: {error.smtp_error!r}", permanent=500 <= error.smtp_code < 600
        ) from error
    except (smtplib.SMTPServerDisconnected, TimeoutError) as error:
        # The connection ended mid-way: the server may have taken the message.
        raise DeliveryError(f"{type(error).__name__}: {error}", permanent=False, maybe_delivered=True) from error
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError(f"{type(error).__name__}: {error}", permanent=False) from error
