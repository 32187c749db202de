"""Daily Section 10 sweep: recompute due dates, queue every notice owed today; beside it, housekeeping."""

from delayhub_airflow.factory import core_dag

notice_sweep = core_dag(
    "notice_sweep", "30 6 * * *",
    "Recomputes every open request's due date on the Thai government calendar and queues the "
    "delay and result notices owed today (one outbox row per notice and channel, copy to the OPDC). "
    "Beside it, `housekeeping` deletes what the web application no longer needs: used desk form "
    "tokens, expired sessions and one-time codes, old rate-limit windows (`delayhub housekeeping`).",
    "run_sweep", also=("run_housekeeping",),
)
