"""/api/v1/chat: access, history and send, each limited to 30 a minute per user."""

from flask_jwt_extended import current_user
from flask_smorest import Blueprint

from app.auth.decorators import access_required
from app.chat import service
from app.chat.schemas import AccessSchema, HistoryArgs, HistorySchema, SendResultSchema, SendSchema
from app.errors import ErrorSchema
from app.extensions import limiter
from app.http import API_PREFIX, BEARER
from app.limits import user_or_ip

blp = Blueprint("chat", __name__, url_prefix=f"{API_PREFIX}/chat", description="The coach chat")
CHAT_LIMIT = "30/minute"


@blp.route("/access", methods=["GET"])
@limiter.limit(CHAT_LIMIT, key_func=user_or_ip)
@access_required
@blp.response(200, AccessSchema)
@blp.doc(security=BEARER)
def access():
    """Whether the coach chat is open now, why, and the active and next meetings."""
    return service.access_to_json(service.access(current_user))


@blp.route("/history", methods=["GET"])
@limiter.limit(CHAT_LIMIT, key_func=user_or_ip)
@access_required
@blp.arguments(HistoryArgs, location="query")
@blp.response(200, HistorySchema)
@blp.doc(security=BEARER)
def history(args):
    """The user's messages, newest first; `before` is an alias of `cursor`."""
    cursor = args["cursor"] or args["before"]
    messages, next_cursor = service.history(current_user["_id"], args["limit"], cursor)
    return {"messages": [service.to_json(m) for m in messages], "next_cursor": next_cursor}


@blp.route("/send", methods=["POST"])
@limiter.limit(CHAT_LIMIT, key_func=user_or_ip)
@access_required
@blp.arguments(SendSchema, example={"message": "I ran 5k today!"})
@blp.response(201, SendResultSchema)
@blp.alt_response(403, schema=ErrorSchema, description="chat_locked: outside a meeting")
@blp.alt_response(429, schema=ErrorSchema, description="coach_quota_exceeded or rate_limited")
@blp.alt_response(503, schema=ErrorSchema, description="coach_unavailable: message kept")
@blp.doc(security=BEARER)
def send(body):
    """Send a message to the coach; answers with the stored message and the coach's reply."""
    message, reply = service.send(current_user, body["message"])
    return {"message": service.to_json(message), "reply": service.to_json(reply)}
