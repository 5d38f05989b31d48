"""The scopes the app asks for: the same lists as manifest.json (a test keeps them equal)."""

ADMIN_SCOPE = "admin.conversations:write"

BOT_SCOPES = [
    "commands",  # the two slash commands
    "channels:manage",  # leave public channels
    "channels:join",  # the Rejoin button: back into public channels it just left
    "groups:write",  # leave private channels
    "chat:write",  # the DM fallback for replies, and the audit channel
    "users:read",  # who is an admin
    "channels:read",  # a public shared channel's connected teams
    "groups:read",  # a private shared channel's connected teams; which channels left were private
    "team:read",  # workspace names
]

USER_SCOPES = [ADMIN_SCOPE]  # granted by the Org Admin who installs the app on the whole org
