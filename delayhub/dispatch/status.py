"""Outbox statuses and their groups, in one place."""

PENDING = "pending"  # waiting for its first or next attempt (see next_attempt_at)
SENDING = "sending"  # claimed by a dispatcher
SENT = "sent"  # accepted by the SMTP server or SMS gateway
PERMANENT_FAILURE = "permanent-failure"  # the address or message was refused: no retry
TECHNICAL_FAILURE = "technical-failure"  # retries ran out

IN_FLIGHT = (PENDING, SENDING)

# Channels sent by email: the applicant's, the copy to the OPDC, and alerts to the agency.
EMAIL_CHANNELS = ("email", "opdc", "agency")
DELIVERED = (SENT,)
FAILED = (PERMANENT_FAILURE, TECHNICAL_FAILURE)
