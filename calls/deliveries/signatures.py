"""Accept a webhook only when Twilio signed it, on the URL Twilio requested.

Signed with the account's Auth Token, or during a rotation with TWILIO_AUTH_TOKEN_SECONDARY.
"""

import functools
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from twilio.request_validator import RequestValidator, compare

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]

# Twilio's form posts are a few kilobytes; anything far larger is not from Twilio.
WEBHOOK_MAX_BODY_BYTES = 64 * 1024


def public_url(request: HttpRequest, path: str) -> str:
    """Return the absolute URL Twilio uses for path on this server.

    TWILIO_WEBHOOK_BASE_URL wins when set (a proxy or tunnel that rewrites the host); otherwise
    the request's own scheme and host, which honour X-Forwarded-Proto/Host only when trusted.
    """
    if settings.TWILIO_WEBHOOK_BASE_URL:
        return settings.TWILIO_WEBHOOK_BASE_URL + path
    return request.build_absolute_uri(path)


class WebhookForm(dict[str, list[str]]):
    """A webhook's form: each name with its values, in the order sent.

    Read once from the body for the signature and the parsers: Django's QueryDict holds the
    same at three times the cost, and RequestValidator reads it twice (with and without the
    port), together a sixth of a callback's time. `getall` is the multi-valued form's method
    RequestValidator reads values with.
    """

    def getall(self, name: str) -> list[str]:
        return self[name]


FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# Twilio signs a JSON body by its SHA-256, which it adds to the URL as bodySHA256.
JSON_CONTENT_TYPE = "application/json"
BODY_HASH_PARAMETER = "bodySHA256"


def _webhook_form(request: HttpRequest) -> WebhookForm:
    """The body's form as Django's request.POST reads it, which does so itself for another
    content type than Twilio's; ValueError past DATA_UPLOAD_MAX_NUMBER_FIELDS fields."""
    if request.content_type != FORM_CONTENT_TYPE:
        return WebhookForm(request.POST.lists())
    form = WebhookForm()
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        text = request.body.decode("iso-8859-1")
    for name, value in parse_qsl(
        text, keep_blank_values=True, max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    ):
        form.setdefault(name, []).append(value)
    return form


def twilio_signature_required(view: View) -> View:
    """Answer 413 to oversized bodies, 400 to too many fields or a JSON body that is not an
    object of names and values, and 403 to requests without a valid X-Twilio-Signature; pass
    the view the WebhookForm after the request."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        signed = _signed_or_refused(request)
        if isinstance(signed, HttpResponse):
            return signed
        try:
            form = signed if isinstance(signed, WebhookForm) else _json_form(signed)
        except ValueError:
            return _bad_request("The JSON body is not an object of names and values.")
        return view(request, form, *args, **kwargs)

    return wrapper


def twilio_signed_json_list(view: View) -> View:
    """Like twilio_signature_required for a body that is a JSON array (Event Streams' batches
    of CloudEvents): pass the view the array's items after the request; 400 for anything else."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        signed = _signed_or_refused(request)
        if isinstance(signed, HttpResponse):
            return signed
        try:
            document = json.loads(signed) if isinstance(signed, str) else None
        except ValueError:
            document = None
        if not isinstance(document, list):
            return _bad_request("The body is not a JSON array.")
        return view(request, document, *args, **kwargs)

    return wrapper


def _signed_or_refused(request: HttpRequest) -> WebhookForm | str | HttpResponse:
    """What Twilio signed, or the answer that refuses the request (413, 400 or 403)."""
    declared_length = request.META.get("CONTENT_LENGTH") or "0"
    if not declared_length.isdigit() or int(declared_length) > WEBHOOK_MAX_BODY_BYTES:
        return _too_large()
    if len(request.body) > WEBHOOK_MAX_BODY_BYTES:
        return _too_large()
    try:
        signed = _signed_content(request)
    except ValueError:
        return _bad_request("The body has too many fields.")
    if settings.TWILIO_VALIDATE_SIGNATURES and not _signed_by_twilio(request, signed):
        return HttpResponseForbidden(
            "X-Twilio-Signature is missing or does not match.", content_type="text/plain"
        )
    return signed


def _signed_content(request: HttpRequest) -> WebhookForm | str:
    """What the signature covers: the form, or a JSON body's text (its hash is in the URL)."""
    if request.content_type == JSON_CONTENT_TYPE:
        return request.body.decode("utf-8", "replace")
    return _webhook_form(request)


def _json_form(body: str) -> WebhookForm:
    """A JSON object's names and values as a form; ValueError for anything else."""
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError("not an object")
    form = WebhookForm()
    for name, value in document.items():
        values = value if isinstance(value, list) else [value]
        form[name] = [_json_text(item) for item in values]
    return form


def _json_text(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError("a nested value")


def _signed_by_twilio(request: HttpRequest, content: WebhookForm | str) -> bool:
    tokens = [
        token
        for token in (settings.TWILIO_AUTH_TOKEN, settings.TWILIO_AUTH_TOKEN_SECONDARY)
        if token
    ]
    if not tokens:
        logger.error("TWILIO_AUTH_TOKEN is not set, so no Twilio webhook can be accepted.")
        return False
    # From META: request.headers would copy every header to read this one.
    signature = request.META.get("HTTP_X_TWILIO_SIGNATURE", "")
    url = public_url(request, request.get_full_path())
    if isinstance(content, str) and BODY_HASH_PARAMETER not in request.GET:
        logger.warning("Refused a JSON webhook without %s for %s", BODY_HASH_PARAMETER, url)
        return False
    # The secondary token is tried only when the primary fails: outside a rotation, and for
    # most of one, every webhook costs one signature.
    if any(_signed_with(token, url, content, signature) for token in tokens):
        return True
    # The usual cause is a proxy hiding the URL Twilio used; the log says which one we tried.
    logger.warning("Refused a webhook with a bad signature for %s", url)
    return False


def _signed_with(token: str, url: str, content: WebhookForm | str, signature: str) -> bool:
    validator = RequestValidator(token)
    if isinstance(content, str):
        # validate() checks the body against bodySHA256, then the signature of the URL.
        return bool(validator.validate(url, content, signature))
    # Twilio signs the URL it requested, which is this one. validate() computes the signature
    # twice, with and without the port, since Twilio's own code is inconsistent about it:
    # check the URL as it is first, and try both only when that fails.
    return bool(
        compare(validator.compute_signature(url, content), signature)
        or validator.validate(url, content, signature)
    )


def _bad_request(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain")


def _too_large() -> HttpResponse:
    return HttpResponse(
        f"The body is larger than {WEBHOOK_MAX_BODY_BYTES} bytes.",
        status=413,
        content_type="text/plain",
    )
