"""{{ cookiecutter.project_name }}: serves the model as an HTTP API (see main.py)."""
