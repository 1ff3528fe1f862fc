"""Default plugin: the ``demo`` command that builds the demo population."""
import click
from flask.cli import with_appcontext

from tracker import hookimpl


@click.command("demo")
@click.option("--children", default=1500, show_default=True, type=click.IntRange(0, 100000), help="How many children.")
@click.option("--seed", default=2026, show_default=True, type=int, help="Random seed: the same seed, the same data.")
@with_appcontext
def demo_command(children, seed):
    """Load a realistic, reproducible demo population (running it again changes nothing)."""
    from tracker.demo.builder import build

    build(children=children, seed=seed, echo=click.echo)


@hookimpl
def register_commands(cli):
    return [demo_command]
