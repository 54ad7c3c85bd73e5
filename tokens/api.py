import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from typing import Any, TypeVar

from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import (
    APIException,
    NotAuthenticated,
    PermissionDenied,
    Throttled,
    ValidationError,
)
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.selectors import NotAnActiveAgent, active_agent_for_user
from tokens.api_tokens import api_token_create
from tokens.authentication import RecentAgentTokenAuthentication, api_token_key
from tokens.models import API_TOKEN_NAME_MAX_LENGTH, ApiToken
from tokens.services import (
    IssuedToken,
    Platform,
    TwilioCredentialsMissing,
    access_token_for_agent,
)

# AccessTokenApi's security requirements in the schema: the API's default authentication,
# which its classes are apart from the memory of recent token owners (a class of its own
# would be a second "tokenAuth"). extend_schema writes the list as it is; its type hint says
# strings.
SCHEMA_AUTH: Any = [{"tokenAuth": []}, {"cookieAuth": []}]


# What an AccessToken is for, in the refusal of a user who is not an active agent.
ACCESS_TOKEN_PURPOSE = "get a voice token"


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "twilio_not_configured"


# What django.utils.cache.add_never_cache_headers writes, as constants: patching the headers
# (parsing Cache-Control, formatting the date) took a tenth of the AccessToken endpoint's time.
NEVER_CACHE_HEADERS = {
    "Cache-Control": "max-age=0, no-cache, no-store, must-revalidate, private",
    "Expires": "Thu, 01 Jan 1970 00:00:00 GMT",
}


AnyResponse = TypeVar("AnyResponse", bound=HttpResponse)


def never_cached(response: AnyResponse) -> AnyResponse:
    """The response with NEVER_CACHE_HEADERS set."""
    for name, value in NEVER_CACHE_HEADERS.items():
        response[name] = value
    return response


class OnlyRendererNegotiation(DefaultContentNegotiation):
    """Answer with the view's one renderer whatever the client accepts (DRF's documented way
    to skip negotiation): parsing Accept headers to choose among one costs a twentieth of the
    AccessToken endpoint's time."""

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        (renderer,) = renderers
        return renderer, renderer.media_type


class NeverCachedApi(APIView):
    """An API view whose answers carry credentials: no cache may keep them."""

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        return never_cached(super().finalize_response(request, response, *args, **kwargs))


class LockedOut(Throttled):
    default_detail = (
        "Too many failed logins: this username is locked out from this address, or this "
        "address altogether, for now."
    )
    default_code = "locked_out"


class ApiTokenApi(NeverCachedApi):
    """Log a device in (POST: username and password for a token) or out (DELETE)."""

    permission_classes = [AllowAny]

    class LoginInputSerializer(serializers.Serializer[object]):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=4096, trim_whitespace=False)
        name = serializers.CharField(
            max_length=API_TOKEN_NAME_MAX_LENGTH,
            required=False,
            help_text="The device, so that it can be told apart in the admin.",
        )

    class LoginOutputSerializer(serializers.Serializer[object]):
        token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`.")
        name = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(request=LoginInputSerializer, responses=LoginOutputSerializer, auth=[])
    def post(self, request: Request) -> Response:
        serializer = self.LoginInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # django-axes counts failures on the Django request and marks a locked-out one.
        django_request = request._request
        user = authenticate(django_request, username=data["username"], password=data["password"])
        if getattr(django_request, "axes_locked_out", False):
            raise LockedOut()
        if user is None:
            raise ValidationError(
                {"non_field_errors": ["Unable to log in with provided credentials."]}
            )
        new = api_token_create(user=user, name=data.get("name", ""))
        return Response(
            {"token": new.key, "name": new.token.name, "expires_at": new.token.expires_at}
        )

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        """Log this device out: the token that authenticates this request stops working."""
        if not isinstance(request.auth, ApiToken):
            raise NotAuthenticated("Send the token to end as `Authorization: Token <token>`.")
        request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class AccessTokenApi(NeverCachedApi):
    """Issue a Voice AccessToken for the logged-in user's own agent identity.

    Call it again before `expires_at` (the SDK's `tokenWillExpire` event) to refresh.
    """

    # As the API's default, but a device asking again within a second costs no query.
    authentication_classes = [RecentAgentTokenAuthentication, SessionAuthentication]
    # JSON only, also to a browser: this path skips the pages' middleware (no
    # Content-Security-Policy, no X-Frame-Options), so it must never answer with a page.
    renderer_classes = [JSONRenderer]
    content_negotiation_class = OnlyRendererNegotiation

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

    @extend_schema(parameters=[InputSerializer], responses=OutputSerializer, auth=SCHEMA_AUTH)
    def get(self, request: Request) -> Response:
        return self.issue(request, request.query_params)

    @extend_schema(request=InputSerializer, responses=OutputSerializer, auth=SCHEMA_AUTH)
    def post(self, request: Request) -> Response:
        return self.issue(request, request.data)

    def issue(self, request: Request, data: Mapping[str, Any]) -> Response:
        try:
            agent = active_agent_for_user(user=request.user, purpose=ACCESS_TOKEN_PURPOSE)
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
        return Response(access_token_answer(issued))


def access_token_answer(issued: IssuedToken) -> dict[str, Any]:
    """The endpoint's answer for an issued token.

    The dataclass renders exactly as OutputSerializer describes it (DRF's encoder writes
    datetimes in the same ISO 8601 form), without a serializer's per-request field copies.
    Shallow: asdict() deep-copies every value, a tenth of this path's time.
    """
    return {field.name: getattr(issued, field.name) for field in fields(issued)}


def access_token_view() -> Callable[[HttpRequest], HttpResponse]:
    """AccessTokenApi, with a short way for its most frequent request: a device's GET with
    no parameters and a valid API token.

    That request is answered with the API view's own authentication, checks and renderer,
    and the headers it would send, but without DRF's request wrapper, permission and
    negotiation steps and template response, which took a fifth of its CPU. Every other
    request, and any that would not succeed (no or a bad token, not an agent, Twilio not
    configured), goes to the API view, which answers it, errors included (a bad token is
    then looked up twice).
    """
    api_view = AccessTokenApi.as_view()
    authentication = RecentAgentTokenAuthentication()
    renderer = JSONRenderer()
    # The methods the API view's answers name; set up as for a request, which adds HEAD.
    sample = AccessTokenApi()
    sample.setup(HttpRequest())
    allow = ", ".join(sample.allowed_methods)

    def view(request: HttpRequest) -> HttpResponse:
        if request.method == "GET" and not request.META.get("QUERY_STRING"):
            issued = _issued_to_device(request, authentication)
            if issued is not None:
                response = HttpResponse(
                    renderer.render(access_token_answer(issued)),
                    content_type=renderer.media_type,
                )
                response["Allow"] = allow
                return never_cached(response)
        return api_view(request)

    # Keeps what as_view() marks its view with: csrf_exempt, and `cls`, by which the OpenAPI
    # schema finds AccessTokenApi.
    return functools.update_wrapper(view, api_view)


def _issued_to_device(
    request: HttpRequest, authentication: RecentAgentTokenAuthentication
) -> IssuedToken | None:
    # The header read once, not through request.headers, which copies every header.
    key = api_token_key(request.META.get("HTTP_AUTHORIZATION", ""))
    if key is None:
        return None
    try:
        request.user = authentication.authenticate_credentials(key)[0]
        agent = active_agent_for_user(user=request.user, purpose=ACCESS_TOKEN_PURPOSE)
        return access_token_for_agent(agent=agent, ttl=None, platform=None)
    except (APIException, NotAnActiveAgent, TwilioCredentialsMissing):
        return None
