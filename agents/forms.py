"""Admin forms for agents."""

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator

from agents.models import Agent

User = get_user_model()


class AgentCreationForm(forms.ModelForm):
    """Create the login user and its agent profile in one form."""

    username = forms.CharField(
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text="What the agent types to log in: letters, digits and @/./+/-/_ only.",
    )
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    password1 = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(
        label="Password confirmation", strip=False, widget=forms.PasswordInput
    )

    class Meta:
        model = Agent
        fields = ["identity", "twiml_app", "caller_id", "incoming_allowed", "is_active"]

    def clean_username(self):
        username = User.normalize_username(self.cleaned_data["username"])
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("A user with that username already exists.")
        return username

    def clean(self):
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

    def new_user(self):
        """Build, unsaved, the login user this form describes."""
        return User(
            username=self.cleaned_data.get("username", ""),
            email=self.cleaned_data.get("email", ""),
            first_name=self.cleaned_data.get("first_name", ""),
            last_name=self.cleaned_data.get("last_name", ""),
        )

    def save(self, commit=True):
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
        return agent
