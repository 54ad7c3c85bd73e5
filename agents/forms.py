"""Forms for agents, phone numbers and users' profiles."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator

from agents.models import CALL_HANDLING_FIELDS, Agent, PhoneNumber, UserProfile
from agents.selectors import user_profile_get
from agents.services import user_time_zone_set
from voiceproject.time_zones import TIME_ZONE_NAMES
from voiceproject.twilio_ids import e164_from_typed

User = get_user_model()


class PhoneNumberField(forms.CharField):
    """A phone number typed any way a person writes one, cleaned to E.164.

    `+1 415 555 0100` and, for numbers of DEFAULT_PHONE_REGION, `(415) 555-0100` both
    become `+14155550100`.
    """

    def __init__(self, *, max_length: int | None = None, **kwargs: Any) -> None:
        # The model's limit is E.164's; what a person types may be longer.
        super().__init__(max_length=40, **kwargs)

    def to_python(self, value: Any) -> str | None:
        typed = super().to_python(value)
        if not typed:
            return typed
        number = e164_from_typed(typed, region=settings.DEFAULT_PHONE_REGION)
        if number is None:
            raise forms.ValidationError(
                f"{typed} is not a valid phone number: write it in E.164 (+14155550100) or "
                f"as a national number of {settings.DEFAULT_PHONE_REGION}.",
                code="invalid_phone_number",
            )
        return number


def time_zone_choices() -> list[tuple[str, str]]:
    """Every zone the server knows, after the server's own (the empty choice)."""
    return [
        ("", f"The server's ({settings.TIME_ZONE})"),
        *((name, name) for name in TIME_ZONE_NAMES),
    ]


class TimeZoneField(forms.ChoiceField):
    """A user's own time zone, chosen from those the server knows; empty for the server's."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text",
            "Times, date filters and the statistics' days and hours are in this zone.",
        )
        super().__init__(choices=time_zone_choices, required=False, **kwargs)


class UserProfileForm(forms.ModelForm[UserProfile]):
    """What a user chooses for herself."""

    time_zone = TimeZoneField(label="Time zone")

    class Meta:
        model = UserProfile
        fields = ["time_zone"]


class AgentFormBase(forms.ModelForm[Agent]):
    """An agent's Twilio settings and the phone numbers that ring it."""

    phone_numbers = forms.ModelMultipleChoiceField(
        queryset=PhoneNumber.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Rings for",
        help_text="Calls to these numbers ring this agent (with the other agents of each number).",
    )
    # The login user's, kept in its profile (agents.services.user_time_zone_set).
    time_zone = TimeZoneField(label="Time zone")

    class Meta:
        model = Agent
        fields = [
            "identity",
            "twiml_app",
            "caller_id",
            "caller_id_verified",
            "incoming_allowed",
            "is_active",
        ]
        field_classes = {"caller_id": PhoneNumberField}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["phone_numbers"].initial = self.instance.phone_numbers.all()
            profile = user_profile_get(user=self.instance.user)
            self.fields["time_zone"].initial = profile.time_zone if profile else ""

    def _save_m2m(self) -> None:
        super()._save_m2m()  # type: ignore[misc]
        self.instance.phone_numbers.set(self.cleaned_data["phone_numbers"])
        if "time_zone" in self.changed_data:
            user_time_zone_set(user=self.instance.user, time_zone=self.cleaned_data["time_zone"])


class AgentChangeForm(AgentFormBase):
    """An existing agent's settings, its call handling, and whether its login works."""

    login_enabled = forms.BooleanField(
        required=False,
        help_text="Off, the user cannot log in and its API tokens are revoked; its call "
        "history stays.",
    )

    class Meta(AgentFormBase.Meta):
        fields = [*AgentFormBase.Meta.fields, *CALL_HANDLING_FIELDS]
        field_classes = {"caller_id": PhoneNumberField, "forward_to": PhoneNumberField}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["login_enabled"].initial = self.instance.user.is_active


class AgentCreationForm(AgentFormBase):
    """Create the login user and its agent profile in one form."""

    username = forms.CharField(
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text="What the agent types to log in: letters, digits and @/./+/-/_ only.",
    )
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False, help_text="Where a forgotten password is reset.")
    password1 = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(
        label="Password confirmation", strip=False, widget=forms.PasswordInput
    )

    def clean_username(self) -> str:
        typed: str = self.cleaned_data["username"]
        username = User.normalize_username(typed)
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("A user with that username already exists.")
        return username

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean() or {}
        password1 = cleaned_data.get("password1")
        password2 = cleaned_data.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords do not match.")
        elif password2:
            try:
                password_validation.validate_password(password2, self.new_user())
            except forms.ValidationError as error:
                self.add_error("password2", error)
        return cleaned_data

    def new_user(self) -> Any:
        """Build, unsaved, the login user this form describes."""
        return User(
            username=self.cleaned_data.get("username", ""),
            email=self.cleaned_data.get("email", ""),
            first_name=self.cleaned_data.get("first_name", ""),
            last_name=self.cleaned_data.get("last_name", ""),
        )

    def save(self, commit: bool = True) -> Agent:
        """Save the user even when commit is False: the agent cannot exist without it.

        The admin calls save(commit=False) inside the transaction of its add view, so a
        failure later in that view undoes the user too.
        """
        agent = super().save(commit=False)
        user = self.new_user()
        user.set_password(self.cleaned_data["password1"])
        user.save()
        agent.user = user
        if commit:
            agent.save()
            self._save_m2m()
        return agent


class PhoneNumberForm(forms.ModelForm[PhoneNumber]):
    class Meta:
        model = PhoneNumber
        fields = ["number", "friendly_name", "agents", *CALL_HANDLING_FIELDS]
        field_classes = {"number": PhoneNumberField, "forward_to": PhoneNumberField}
