"""Airflow adapters for delayhub: Connections → connector secrets, task callables, the DAG factory.

Everything here is glue; the work is done by the ``delayhub`` core.
"""
