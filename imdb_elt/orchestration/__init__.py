"""Airflow-side code: task callables, AWS operator builders, the Cosmos set-up, acquisition.

Importing this package imports no Airflow module; the builders import the providers lazily.
"""
