"""DRF token authentication, shaped for the token endpoint: the hot path of every softphone."""

from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed


class AgentTokenAuthentication(TokenAuthentication):
    """DRF token authentication that loads the user's agent and TwiML App in the same query.

    Softphones ask for a token at start-up and before every expiry; one database round trip
    instead of two per request (see agents.selectors.agent_get_for_user).
    """

    def authenticate_credentials(self, key):
        try:
            token = Token.objects.select_related("user__agent__twiml_app").get(key=key)
        except Token.DoesNotExist:
            raise AuthenticationFailed("Invalid token.") from None
        if not token.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        return token.user, token
