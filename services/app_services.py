"""What the listeners need beyond the Web API client: the admin rule, the audit log, the admin token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.admin_token import AdminTokenSource
from services.admins import AdminPolicy
from services.audit import AuditLog


@dataclass(frozen=True)
class AppServices:
    admins: AdminPolicy
    audit: AuditLog
    admin_tokens: AdminTokenSource  # the Org Admin's user token (xoxp-); never the bot's

    CONTEXT_KEY = "app_services"

    @classmethod
    def of(cls, context: Any) -> AppServices:
        """The services a middleware placed in a Bolt context."""
        return context[cls.CONTEXT_KEY]
