"""{{ cookiecutter.project_name | trim }}

Serves the model as an HTTP API (see main.py).
"""
