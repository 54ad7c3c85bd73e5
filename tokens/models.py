from django.conf import settings
from django.db import models
from django.db.models import F, Q

API_TOKEN_NAME_MAX_LENGTH = 100


class ApiToken(models.Model):
    """One device's login to the API: a secret key the device sends as `Token <key>`.

    Only the key's SHA-256 is stored, so a copy of the database logs nobody in. A token dies
    at `expires_at`, when its owner logs the device out, when a supervisor deletes it, and
    when the user's password changes or the user is deactivated.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(
        max_length=API_TOKEN_NAME_MAX_LENGTH, help_text="The device, as its owner named it."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # A digest of the user's password hash when the token was made: a new password no
    # longer matches, which ends the token even when the password was changed behind
    # Django's back.
    password_digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = "API token"
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="api_token_expires_after_created"
            ),
            models.CheckConstraint(
                condition=Q(key_hash__regex=r"^[0-9a-f]{64}$"), name="api_token_key_hash_sha256"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user_id})"
