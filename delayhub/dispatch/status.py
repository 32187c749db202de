"""Outbox statuses and their groups, in one place.

queued ──claim (lease)──▶ sending ──▶ sent
   ▲                        │
   └──── temporary failure ─┤ (next try after backoff with jitter, while before the deadline)
                            ├──▶ failed  (permanent: bad address, rejected number; no retry)
                            └──▶ dead    (temporary failures until the deadline or the last attempt)
A row left in 'sending' by a worker that died is taken again once its lease has run out.
"""

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
DEAD = "dead"

IN_FLIGHT = (QUEUED, SENDING)
DELIVERED = (SENT,)
UNDELIVERED = (FAILED, DEAD)

# Channels sent by email: the applicant's, the copy to the OPDC, and alerts to the agency.
EMAIL_CHANNELS = ("email", "opdc", "agency")
