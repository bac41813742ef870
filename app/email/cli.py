"""`flask email preview TYPE` (a type on sample data; nothing is stored or sent) and
`flask email retry` (failed emails sent again)."""

from datetime import datetime

import click
from flask.cli import AppGroup

from app.email import delivery, types
from app.email.render import render_email
from app.email.samples import sample_recipient

email_cli = AppGroup("email", help="Look at the emails the service sends; send failed ones again.")


@email_cli.command("preview")
@click.argument("email_type", type=click.Choice(sorted(types.TYPES)))
@click.option("--variant", default=None, help="24h|1h for reminders, updated for invitations.")
@click.option(
    "--part",
    type=click.Choice(["text", "html", "ics", "headers"]),
    default="text",
    show_default=True,
)
@click.option("--name", default="Sam Rivera", show_default=True, help="Recipient name.")
@click.option("--timezone", default="America/New_York", show_default=True)
def preview(email_type: str, variant: str | None, part: str, name: str, timezone: str):
    """Print one email of EMAIL_TYPE rendered on sample data."""
    data = types.get(email_type).sample(variant)
    rendered = render_email(email_type, sample_recipient(name, timezone), data)
    if part == "html":
        click.echo(rendered.html)
    elif part == "ics":
        if not rendered.attachments:
            raise click.ClickException(f"{email_type} has no calendar attachment")
        click.echo(rendered.attachments[0]["content"])
    elif part == "headers":
        click.echo(f"Subject: {rendered.subject}")
        for header, value in rendered.headers.items():
            click.echo(f"{header}: {value}")
    else:
        click.echo(f"Subject: {rendered.subject}\n")
        click.echo(rendered.text)


@email_cli.command("retry")
@click.argument("email_ids", nargs=-1)
@click.option("--all-failed", is_flag=True, help="Every failed email (with --type/--since).")
@click.option("--type", "email_type", type=click.Choice(sorted(types.TYPES)), default=None)
@click.option("--since", default=None, help="Failed emails created since (ISO 8601 with offset).")
def retry(email_ids: tuple[str, ...], all_failed: bool, email_type: str | None, since: str | None):
    """Send failed emails again (same keys: each at most once more), by id or --all-failed."""
    if bool(email_ids) == all_failed:
        raise click.UsageError("give email ids, or --all-failed (optionally with --type/--since)")
    moment = None
    if since:
        try:
            moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError as exc:
            raise click.BadParameter("must be ISO 8601, e.g. 2026-12-01T09:00:00Z") from exc
        if moment.tzinfo is None:
            raise click.BadParameter("must carry an offset, e.g. Z or +01:00")
    count = delivery.redrive(list(email_ids) or None, email_type, moment)
    click.echo(f"{count} failed email(s) pending again")
