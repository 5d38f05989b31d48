"""The app's own tables (SQLAlchemy Core), imported only once the database is first used."""

from sqlalchemy import Boolean, Column, DateTime, Float, Integer, MetaData, String, Table, Text

metadata = MetaData()

# Every /disconnect-shared attempt; append-only.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("action", String(40), nullable=False),
    Column("event", String(20), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("enterprise_id", String(32)),
    Column("team_id", String(32)),
    Column("channel_id", String(32)),
    Column("leaving_team_id", String(32)),
    Column("outcome", String(80), nullable=False),
    # The job an entry belongs to (an offboarding's start, each channel, its end or cancel); None outside jobs.
    Column("job_id", String(32), index=True),
)

# What a Rejoin button undoes when the channels left are too many for the button to carry (services.leaving.offers).
rejoin_offer = Table(
    "rejoin_offer",
    metadata,
    Column("id", String(32), primary_key=True),  # random; the button's value
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("user_id", String(32), nullable=False),
    Column("public_ids", Text, nullable=False),  # comma-separated channel IDs the app can rejoin by itself
    Column("private_ids", Text, nullable=False),  # private channels: someone inside must /invite the app
    Column("summary", Text, nullable=False),  # the leave summary, kept when the message is replaced
    Column("claimed_at", DateTime(timezone=True)),  # a rejoin in progress (a double press waits for it)
)

# Requests already acted on (a confirmation's view, a button press): a replay, on any instance, finds its key here.
handled_request = Table(
    "handled_request",
    metadata,
    Column("key", String(120), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
)

# Work that runs after the ack over more than one item (services.jobs.queue): it outlives the process that started it.
job = Table(
    "job",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("status", String(20), nullable=False, index=True),  # queued / running / done / failed / cancelled
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), index=True),
    # Who asked: the user, and the installation (its Enterprise org, the workspace) whose bot token does the work.
    Column("user_id", String(32), nullable=False),
    Column("enterprise_id", String(32)),
    Column("team_id", String(32)),
    Column("is_enterprise_install", Boolean, nullable=False, default=False),
    # Where to reply: the response URL (30 minutes), else a DM to the user. Never a token.
    Column("response_url", Text),
    Column("payload", Text, nullable=False),  # JSON: what the kind needs besides its items
    Column("items", Text, nullable=False),  # JSON list: each item with its outcome once done
    Column("next_item", Integer, nullable=False, default=0),  # the index of the first unfinished item
    Column("lease_owner", String(80)),  # the instance working it
    Column("lease_expires_at", DateTime(timezone=True), index=True),
    Column("attempts", Integer, nullable=False, default=0),  # claims so far
    Column("interrupted", Boolean, nullable=False, default=False),  # a process stopped or died while working it
    Column("summary_sent_at", DateTime(timezone=True)),  # claimed by whoever posts the one summary
    # What the job holds alone until it finishes (e.g. "offboard:E…:E…": one offboarding per partner and org); unique,
    # cleared when the job finishes. NULL for jobs that hold nothing (any number of rows may be NULL).
    Column("claim", String(120), index=True, unique=True),
)

# The pace of a Web API method for one installation's token (services.storage.pace_rows), shared by every instance
# and worker: the interval learned from 429s and the next free start, so N processes don't call N times as fast.
# Times are Unix seconds (float): every instance reads them against its own clock.
pace = Table(
    "pace",
    metadata,
    Column("key", String(120), primary_key=True),  # services.slack.pacing.pace_key: a token digest and the method
    Column("interval", Float, nullable=False),  # seconds between call starts; 0 = not paced
    Column("next_free", Float, nullable=False),  # the next start not yet reserved by any instance
    Column("resume_at", Float, nullable=False),  # no call before this (a Retry-After)
    Column("limited_at", Float, nullable=False),  # the last 429: the interval is forgotten a while after it
)

# An offboarding plan between the search and the confirmation (services.disconnecting.partners.PlanStore): what the
# search found so far and where it stands, so the confirmation, the "keep these" picker and the job read it, not a
# second search. Plans older than a day are deleted when the next is written.
offboard_plan = Table(
    "offboard_plan",
    metadata,
    Column("id", String(32), primary_key=True),  # random; in the plan modal's private_metadata
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("user_id", String(32), nullable=False),  # who searched: only they read it
    Column("enterprise_id", String(32)),
    Column("partner_id", String(32), nullable=False),
    Column("body", Text, nullable=False),  # JSON: services.disconnecting.partners.Findings
)
