from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"
    verbose_name = "Voice AccessTokens and API tokens"

    def ready(self) -> None:
        from tokens import signals  # noqa: F401  (connects the receivers)
