"""One ingest DAG per mappings/*.yaml, in file-name order.

When Airflow runs a task it re-parses this file; only the DAG being run is built then, from its
own mappings file. A broken mappings file is logged and skipped: it never hides the other
agencies' DAGs. Parsing reads mappings/ (checked against schemas/) and the agency registry, nothing else.
"""

import logging

from airflow.sdk import get_parsing_context
from delayhub_airflow.factory import agencies, ingest_dag

from delayhub.mapping import load_all

_mappings, _errors = load_all(dag_id=get_parsing_context().dag_id)
for _error in _errors:
    logging.getLogger(__name__).error("mapping skipped: %s", _error)
_agencies = agencies()
for _mapping in _mappings:
    globals()[_mapping.dag_id] = ingest_dag(_mapping, _agencies)
