"""delayhub: automatic Section 10 delay notices for Thai government licensing requests.

The package is the pure domain core: it never imports Airflow. DAGs in ``dags/`` and the
plugin in ``plugins/`` are thin adapters over the functions here.
"""

__version__ = "0.1.0"
