"""Every morning, the previous day's notices for the OPDC as CSV and JSON (besides each emailed copy)."""

from delayhub_airflow.factory import core_dag

opdc_export = core_dag(
    "opdc_export", "0 7 * * *",
    "Writes notices-YYYY-MM-DD.csv and .json: every delay and result notice sent the day before, one row "
    "per notice with its channels, without the applicants' contact details.",
    "run_opdc_export",
)
