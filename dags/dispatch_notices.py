"""Send what the outbox holds: email, SMS and the OPDC copy, with retries and a record of each attempt."""

from delayhub_airflow.factory import core_dag

dispatch_notices = core_dag(
    "dispatch_notices", "*/15 * * * *",
    "Claims due outbox rows and hands them to SMTP and the SMS gateway; every attempt is recorded.",
    "run_dispatch",
)
