from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.selectors import NotAnActiveAgent, active_agent_for_user
from tokens.services import Platform, TwilioCredentialsMissing, access_token_for_agent


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "twilio_not_configured"


class AccessTokenApi(APIView):
    """Issue a Voice AccessToken for the logged-in user's own agent identity.

    Call it again before `expires_at` (the SDK's `tokenWillExpire` event) to refresh.
    """

    class InputSerializer(serializers.Serializer[object]):
        ttl = serializers.IntegerField(
            required=False,
            min_value=60,
            help_text="Seconds; may shorten the configured lifetime, never lengthen it.",
        )
        platform = serializers.ChoiceField(
            choices=[platform.value for platform in Platform],
            required=False,
            help_text="ios or android: the token then carries that platform's push "
            "credential (APNs or FCM). Browsers leave it out.",
        )

    class OutputSerializer(serializers.Serializer[object]):
        identity = serializers.CharField()
        token = serializers.CharField()
        ttl = serializers.IntegerField()
        expires_at = serializers.DateTimeField()
        edge = serializers.CharField(help_text="Pass to the Voice SDK as its `edge` option.")

    @extend_schema(parameters=[InputSerializer], responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        return self.issue(request, request.query_params)

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request) -> Response:
        return self.issue(request, request.data)

    def issue(self, request: Request, data: Mapping[str, Any]) -> Response:
        try:
            agent = active_agent_for_user(user=request.user, purpose="get a voice token")
        except NotAnActiveAgent as error:
            raise PermissionDenied(str(error)) from error
        ttl = platform = None
        # Softphones rarely send a ttl; building a serializer for nothing is a fifth of the
        # cost of this hot path.
        if data:
            serializer = self.InputSerializer(data=data)
            serializer.is_valid(raise_exception=True)
            ttl = serializer.validated_data.get("ttl")
            if "platform" in serializer.validated_data:
                platform = Platform(serializer.validated_data["platform"])
        try:
            issued = access_token_for_agent(agent=agent, ttl=ttl, platform=platform)
        except TwilioCredentialsMissing as error:
            raise ServiceUnavailable(f"Voice tokens are not available: {error}") from error
        # The dataclass renders exactly as OutputSerializer describes it (DRF's encoder writes
        # datetimes in the same ISO 8601 form), without a serializer's per-request field copies.
        return Response(asdict(issued))

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        # Tokens are credentials: no cache may keep them.
        add_never_cache_headers(response)
        return response
