"""The scopes the app asks for: the same lists as manifest.json and manifest.enterprise.json (a test keeps them equal).

Every install asks for the bot scopes only, so the app installs on any workspace: standalone (Free, Pro, Business+),
a single workspace of an Enterprise org, or a whole Enterprise org. Slack grants the admin user scope only to an
org-wide install of an Enterprise org made by an Org Admin or Owner, and refuses any other install that asks for it;
so only the admin install (manifest.enterprise.json, /slack/install/admin) asks for it.
"""

ADMIN_SCOPE = "admin.conversations:write"
# Offboarding a partner finds every channel shared with it: admin.conversations.search needs admin.conversations:read
# (https://api.slack.com/methods/admin.conversations.search).
ADMIN_READ_SCOPE = "admin.conversations:read"

BOT_SCOPES = [
    "commands",  # the two slash commands
    "channels:manage",  # leave public channels
    "channels:join",  # the Rejoin button: back into public channels it just left
    "groups:write",  # leave private channels
    "chat:write",  # the DM fallback for replies, and the audit channel
    "users:read",  # who is an admin
    "channels:read",  # a public shared channel's connected teams
    "groups:read",  # a private shared channel's connected teams; which channels left were private
    "team:read",  # workspace names; the partner directory (team.externalTeams.list)
    "files:write",  # long lists (a big leave's or offboarding's summary) as a file in the DM (services.slack.files)
    "im:write",  # the DM that file goes in: files.completeUploadExternal takes a D… ID, from conversations.open
    # The partner directory and offboarding "everything, including DMs": team.externalTeams.list and .disconnect
    # (https://docs.slack.dev/reference/methods/team.externalTeams.disconnect, bot scope, Enterprise Grid only).
    "conversations.connect:manage",
]

USER_SCOPES: list[str] = []  # manifest.json and /slack/install: no user token at all

# manifest.enterprise.json and /slack/install/admin: an Org Admin's user token
ADMIN_USER_SCOPES = [ADMIN_SCOPE, ADMIN_READ_SCOPE]
