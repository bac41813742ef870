"""`flask email preview TYPE`: render a type on sample data (nothing is stored or sent)."""

import click
from flask.cli import AppGroup

from app.email import types
from app.email.render import render_email
from app.email.samples import sample_recipient

email_cli = AppGroup("email", help="Look at the emails the service sends.")


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
