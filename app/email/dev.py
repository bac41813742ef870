"""The dev outbox at /dev/emails (development only): every email_log row, each shown as a mail
client would, HTML and text side by side."""

from bson import ObjectId
from bson.errors import InvalidId
from flask import Blueprint, abort, render_template

from app.db import get_db
from app.email.outbox import with_bodies

dev_outbox = Blueprint("dev_outbox", __name__, url_prefix="/dev/emails")
LIST_LIMIT = 200


@dev_outbox.route("")
def list_emails():
    """The newest rows first."""
    collection = get_db().email_log
    rows = collection.find({}, {"attachments": 0})
    rows = [with_bodies(row) for row in rows.sort("created_at", -1).limit(LIST_LIMIT)]
    return render_template("pages/dev_list.html", rows=rows, total=collection.count_documents({}))


@dev_outbox.route("/<email_id>")
def show_email(email_id: str):
    """One email: headers, HTML (sandboxed frame) and text side by side, attachments, events."""
    try:
        row = get_db().email_log.find_one({"_id": ObjectId(email_id)})
    except InvalidId:
        row = None
    if row is None:
        abort(404)
    return render_template("pages/dev_show.html", row=with_bodies(row))
