"""One ingest DAG per mappings/*.yaml, in file-name order.

When Airflow runs a task it re-parses this file; only the DAG being run is built then.
A broken mappings file is logged and skipped: it never hides the other agencies' DAGs.
"""

import logging

from airflow.sdk import get_parsing_context
from delayhub_airflow.factory import ingest_dag

from delayhub.mapping import load_all

_wanted = get_parsing_context().dag_id
_mappings, _errors = load_all()
for _error in _errors:
    logging.getLogger(__name__).error("mapping skipped: %s", _error)
for _mapping in _mappings:
    if _wanted is None or _wanted == _mapping.dag_id:
        globals()[_mapping.dag_id] = ingest_dag(_mapping)
