"""Entry point for gunicorn (`app:app`) and `flask --app app run`."""

from lobstr_dash import create_app

app = create_app()
