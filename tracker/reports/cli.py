"""``tracker report``: the report's files from the command line."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from tracker.clitools import check_period
from tracker.clitools import iso_date as _date
from tracker.clitools import user_by_email
from tracker.locks import by_path, single_run


@single_run("report", per=by_path("out"))
@click.command("report")
@click.option("--period", metavar="PERIOD", help="A school year (2025/26), a term (2025/26-1, 2025/26-2) or a month "
                                                 "(2025-09), counted to the end of last month. Required with --sharing.")
@click.option("--from", "frm", callback=_date, help="First day of the period (ISO date); exact figures only.")
@click.option("--to", "to", callback=_date, help="Last day of the period (ISO date); exact figures only.")
@click.option("--as-of", "as_of", callback=_date, help="Stocks and horizons as of this date (default: --to).")
@click.option("--school", "schools", multiple=True, metavar="CODE", help="Only this school (repeatable).")
@click.option("--municipality", help="Only the schools of this municipality.")
@click.option("--format", "fmt", type=click.Choice(["html", "csv", "xlsx", "pdf"]), required=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="File to write ('-' for standard output).")
@click.option("--sharing", is_flag=True, help="Prepare for sharing: exactly what partners get (a whole period, one "
                                               "school or municipality, perturbed and rounded counts).")
@click.option("--as", "as_email", metavar="EMAIL", help="Report as this user, within their scope (default: every "
                                                        "school, exact figures).")
@with_appcontext
def report_command(period, frm, to, as_of, schools, municipality, fmt, out, sharing, as_email):
    """Write the retention and attendance report for a period as HTML, CSV, XLSX or PDF."""
    from tracker.reports import data, exports

    if period is None:
        if frm is None or to is None:
            raise click.UsageError("Give --period, or both --from and --to.")
        check_period(frm, to, as_of)
    user = user_by_email(as_email)
    steps = ["indicators", "sections", "render", "write"]
    try:
        with click.progressbar(length=len(steps), label="Building the report", file=sys.stderr,
                               show_pos=True) as bar:
            report = data.build_report(user, period=period, frm=frm, to=to, as_of=as_of,
                                       school_codes=list(schools), municipality=municipality, sharing=sharing)
            bar.update(2)
            body, _mimetype, _name = exports.render(fmt, report)
            bar.update(1)
            if out == "-":
                sys.stdout.buffer.write(body)
            else:
                with open(out, "wb") as fh:
                    fh.write(body)
            bar.update(1)
    except (data.ReportError, data.ReportForbidden) as exc:
        raise click.ClickException(str(exc)) from None
    if out != "-":
        click.echo(f"wrote {out} ({len(body):,} bytes)", err=True)
