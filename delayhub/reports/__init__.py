"""Reports over the hub store for people (the OPDC, agencies): set-based queries, no web, no Airflow."""
