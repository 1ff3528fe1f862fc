"""The ``tracker`` console script: Flask's commands plus tracker's and its plugins'."""
from flask.cli import FlaskGroup

from tracker import create_app
from tracker.serve import serve_command

cli = FlaskGroup(create_app=create_app, help="tracker: enrolment, attendance and retention of refugee children.")
cli.add_command(serve_command)  # the production server: builds the application in each worker itself


def main() -> None:
    cli.main(prog_name="tracker")
