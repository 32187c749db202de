"""The web application for people (``delayhub.web.app.create_app``): no Airflow import.

Officers, agency admins and the OPDC sign in here; the first page is the OPDC's lateness view.
"""
