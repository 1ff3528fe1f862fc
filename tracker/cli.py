"""The ``tracker`` console script: Flask's commands plus tracker's and its plugins'."""
from flask.cli import FlaskGroup

from tracker import create_app

cli = FlaskGroup(create_app=create_app, help="tracker: enrolment, attendance and retention of refugee children.")


def main() -> None:
    cli.main(prog_name="tracker")
