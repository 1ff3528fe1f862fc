"""Default plugin: the ``tracker indicators`` command."""
from __future__ import annotations

import io
import json
import sys

import click
from flask.cli import with_appcontext

from tracker import csvsafe, hookimpl
from tracker.clitools import check_period
from tracker.clitools import iso_date as _date


@click.command("indicators")
@click.option("--from", "frm", required=True, callback=_date, help="First day of the period (ISO date).")
@click.option("--to", "to", required=True, callback=_date, help="Last day of the period (ISO date).")
@click.option("--as-of", "as_of", callback=_date, help="Stocks and horizons as of this date (default: --to).")
@click.option("--by", default="", help="Comma-separated dimensions: sex,uasc,age_band,level,country,school,"
                                       "municipality,centre.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@with_appcontext
def indicators_command(frm, to, as_of, by, fmt):
    """Print every indicator for a period as tidy rows (one per indicator and group)."""
    from tracker.indicators import Params, compute
    from tracker.indicators.dimensions import DimensionError, parse

    check_period(frm, to, as_of)
    try:
        dims = parse(by)
    except DimensionError as exc:
        raise click.BadParameter(str(exc), param_hint="--by") from None
    as_of = as_of or to
    rows = compute(Params(frm=frm, to=to, as_of=as_of, by=dims))
    if fmt == "json":
        click.echo(json.dumps({"from": frm.isoformat(), "to": to.isoformat(), "as_of": as_of.isoformat(), "by": dims,
                               "rows": rows}, indent=1, ensure_ascii=False))
        return
    fields = ["indicator", *dims, "numerator", "denominator", "value", "cohort", "retained", "moved_onward",
              "dropped_out"]
    out = io.StringIO()
    writer = csvsafe.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    sys.stdout.write(out.getvalue())


@hookimpl
def register_commands(cli):
    return [indicators_command]
