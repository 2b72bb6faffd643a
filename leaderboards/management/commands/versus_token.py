"""Create (if needed) a user and print a new API token for them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from knox.models import AuthToken


class Command(BaseCommand):
    help = (
        "Print a new API token for USERNAME, creating the user if needed. Tokens are stored hashed."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="", help="e-mail for a newly created user")

    def handle(self, *args: Any, username: str, email: str, **options: Any) -> None:
        username = username.strip()
        if not username:
            raise CommandError("USERNAME must not be empty")
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username, defaults={"email": email})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            self.stderr.write(f"created user {username!r}")
        _, token = AuthToken.objects.create(user=user, expiry=None)
        self.stdout.write(token)
