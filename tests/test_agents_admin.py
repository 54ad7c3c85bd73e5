"""Supervisors manage agents, TwiML Apps and numbers through the Django admin."""

import jwt
import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from agents.models import Agent, PhoneNumber, TwimlApp
from tests.factories import AgentFactory, PhoneNumberFactory, TwimlAppFactory, UserFactory
from voiceproject.roles import SUPERVISORS

pytestmark = pytest.mark.django_db

User = get_user_model()

ADD_AGENT_URL = "/admin/agents/agent/add/"
NEW_PASSWORD = "a-long-enough-password-7"


@pytest.fixture
def supervisor_client(client):
    """A client logged in as a staff member of Supervisors, not a superuser."""
    supervisor = UserFactory(username="sue", is_staff=True, groups=[SUPERVISORS])
    client.force_login(supervisor)
    return client


def new_agent_form(twiml_app: TwimlApp, **changes) -> dict:
    """What a supervisor types into the add-agent form."""
    form = {
        "username": "ivan",
        "first_name": "Ivan",
        "last_name": "Agent",
        "email": "ivan@example.com",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        "identity": "ivan_desk",
        "twiml_app": twiml_app.pk,
        "caller_id": "+14155550100",
        "incoming_allowed": "on",
        "is_active": "on",
        "_save": "Save",
    }
    form.update(changes)
    return form


def agent_change_form(agent, **changes) -> dict:
    """What a supervisor submits on an agent's page; a change of None leaves a field out."""
    form = {
        "identity": agent.identity,
        "twiml_app": agent.twiml_app.pk,
        "caller_id": "",
        "incoming_allowed": "on",
        "is_active": "on",
        "login_enabled": "on",
        "unanswered_policy": "voicemail",
        "_save": "Save",
    }
    form.update(changes)
    return {name: value for name, value in form.items() if value is not None}


def test_supervisor_sees_the_one_form_for_a_new_agent(supervisor_client):
    response = supervisor_client.get(ADD_AGENT_URL)

    assert response.status_code == 200
    for field in ["username", "password1", "password2", "identity", "twiml_app", "caller_id"]:
        assert f'name="{field}"'.encode() in response.content


def test_supervisor_creates_an_agent_who_logs_in_and_gets_a_token(supervisor_client, client):
    app = TwimlAppFactory()
    PhoneNumberFactory(number="+14155550100")

    response = supervisor_client.post(ADD_AGENT_URL, new_agent_form(app))

    assert response.status_code == 302
    assert response["Location"] == "/admin/agents/agent/"
    agent = Agent.objects.select_related("user").get(identity="ivan_desk")
    assert agent.user.username == "ivan"
    assert agent.user.get_full_name() == "Ivan Agent"
    assert agent.user.email == "ivan@example.com"
    assert not agent.user.is_staff
    assert (agent.twiml_app, agent.caller_id) == (app, "+14155550100")
    assert agent.incoming_allowed
    assert agent.is_active

    supervisor_client.logout()
    login = client.post("/api/auth/token/", {"username": "ivan", "password": NEW_PASSWORD})
    token = client.get("/api/token/", headers={"Authorization": f"Token {login.json()['token']}"})
    claims = jwt.decode(token.json()["token"], options={"verify_signature": False})
    assert claims["grants"]["identity"] == "ivan_desk"
    assert claims["grants"]["voice"]["outgoing"]["application_sid"] == app.sid


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"identity": "ivan desk"},
            "identity",
            "A Twilio client identity may contain only letters, digits and underscores.",
        ),
        (
            {"identity": "i" * 122},
            "identity",
            "Ensure this value has at most 121 characters (it has 122).",
        ),
        (
            {"caller_id": "555 0100"},
            "caller_id",
            "555 0100 is not a valid phone number: write it in E.164 (+14155550100) or as a "
            "national number of US.",
        ),
        ({"password2": "something-else-9"}, "password2", "The two passwords do not match."),
        (
            {"password1": "12345678", "password2": "12345678"},
            "password2",
            "This password is too common.",
        ),
        (
            {"username": "ivan the agent"},
            "username",
            "Enter a valid username. This value may contain only letters, numbers, "
            "and @/./+/-/_ characters.",
        ),
    ],
)
def test_invalid_new_agent_is_shown_again_with_the_error(
    supervisor_client, changes, field, message
):
    response = supervisor_client.post(ADD_AGENT_URL, new_agent_form(TwimlAppFactory(), **changes))

    assert response.status_code == 200
    assert message in response.context["adminform"].form.errors[field]
    assert not Agent.objects.exists()
    assert not User.objects.filter(username="ivan").exists()


@pytest.mark.parametrize(
    ("make_existing", "field", "message"),
    [
        (
            lambda: UserFactory(username="Ivan"),
            "username",
            "A user with that username already exists.",
        ),
        (
            lambda: AgentFactory(identity="ivan_desk"),
            "identity",
            "Agent with this Identity already exists.",
        ),
    ],
)
def test_taken_username_or_identity_is_shown_in_the_form_and_creates_nothing(
    supervisor_client, make_existing, field, message
):
    make_existing()
    agents_before = Agent.objects.count()

    response = supervisor_client.post(ADD_AGENT_URL, new_agent_form(TwimlAppFactory()))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [message]
    assert Agent.objects.count() == agents_before
    assert not User.objects.filter(username="ivan").exists()


def test_supervisor_edits_an_agent_without_touching_its_user(supervisor_client):
    agent = AgentFactory(identity="old_name", is_active=True)
    url = f"/admin/agents/agent/{agent.pk}/change/"

    page = supervisor_client.get(url)
    response = supervisor_client.post(
        url,
        agent_change_form(agent, identity="new_name", is_active=None),
    )

    assert page.status_code == 200
    assert response.status_code == 302
    agent.refresh_from_db()
    assert (agent.identity, agent.caller_id, agent.is_active) == ("new_name", "", False)
    assert agent.user.is_active


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/agents/agent/",
        "/admin/agents/agent/?is_active__exact=1&q=agent",
        "/admin/agents/twimlapp/",
        "/admin/agents/twimlapp/?q=Softphone",
        "/admin/agents/twimlapp/add/",
        "/admin/agents/phonenumber/",
        "/admin/agents/phonenumber/?q=415",
        "/admin/agents/phonenumber/add/",
        # The TwiML App picker in the agent form.
        "/admin/autocomplete/?app_label=agents&model_name=agent&field_name=twiml_app&term=Soft",
    ],
)
def test_admin_pages_render_for_a_supervisor(supervisor_client, url):
    number = PhoneNumberFactory()
    number.agents.add(AgentFactory(), AgentFactory())

    response = supervisor_client.get(url)

    assert response.status_code == 200


def test_twiml_app_list_counts_its_agents(supervisor_client):
    app = TwimlAppFactory(friendly_name="Support softphone")
    AgentFactory.create_batch(3, twiml_app=app)

    response = supervisor_client.get("/admin/agents/twimlapp/")

    assert response.context["cl"].result_list.get(pk=app.pk).number_of_agents == 3


def test_supervisor_adds_a_twiml_app_and_a_number_that_rings_an_agent(supervisor_client):
    agent = AgentFactory()
    sid = "AP" + "e4" * 16

    app_response = supervisor_client.post(
        "/admin/agents/twimlapp/add/",
        {"sid": sid, "friendly_name": "Sales", "apn_credential_sid": "", "description": ""},
    )
    number_response = supervisor_client.post(
        "/admin/agents/phonenumber/add/",
        {
            "number": "+442071838750",
            "friendly_name": "London",
            "agents": [agent.pk],
            "unanswered_policy": "voicemail",
        },
    )

    assert (app_response.status_code, number_response.status_code) == (302, 302)
    assert TwimlApp.objects.filter(sid=sid).exists()
    assert list(PhoneNumber.objects.get(number="+442071838750").agents.all()) == [agent]


def test_malformed_twiml_app_sid_is_shown_in_the_form(supervisor_client):
    response = supervisor_client.post(
        "/admin/agents/twimlapp/add/",
        {"sid": "AP123", "friendly_name": "Sales", "fcm_credential_sid": "CR1"},
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["sid"] == ["A TwiML App SID is 'AP' followed by 32 lowercase hex digits."]
    assert errors["fcm_credential_sid"] == [
        "A push credential SID is 'CR' followed by 32 lowercase hex digits."
    ]


def test_analyst_cannot_manage_agents(client):
    client.force_login(UserFactory(is_staff=True, groups=["Analysts"]))

    assert client.get(ADD_AGENT_URL).status_code == 403


@pytest.mark.parametrize(
    "identity", ["alice", "Alice_2", "_", "a" * 121, "0123456789", "support_team_EU"]
)
def test_twilio_client_identities_are_accepted(identity):
    agent = AgentFactory.build(identity=identity, twiml_app=TwimlAppFactory(), caller_id="")
    agent.full_clean(exclude=["user"])


@pytest.mark.parametrize(
    ("identity", "message"),
    [
        ("alice smith", "A Twilio client identity may contain only letters"),
        ("alice-smith", "A Twilio client identity may contain only letters"),
        ("client:alice", "A Twilio client identity may contain only letters"),
        ("élodie", "A Twilio client identity may contain only letters"),
        ("alice\n", "A Twilio client identity may contain only letters"),
        ("", "This field cannot be blank."),
        ("a" * 122, "Ensure this value has at most 121 characters"),
    ],
)
def test_identities_twilio_would_refuse_are_rejected_with_a_clear_message(identity, message):
    agent = AgentFactory.build(identity=identity, twiml_app=TwimlAppFactory())

    with pytest.raises(ValidationError) as error:
        agent.full_clean(exclude=["user"])

    assert message in str(error.value.message_dict["identity"])


@pytest.mark.parametrize("number", ["+14155550100", "+442071838750", "+61291234567"])
def test_e164_numbers_are_accepted(number):
    PhoneNumber(number=number).full_clean()


@pytest.mark.parametrize(
    "number",
    [
        "14155550100",
        "+1 415 555 0100",
        "+1-415-555-0100",
        "+04155550100",
        "+1415555010012345",
        "+1999",
        # Arabic-Indic digits read as digits by \d, refused by Twilio and by our database.
        "+1\u0664\u0661\u0665\u0665\u0665\u0665\u0660\u0661\u0660\u0660",
    ],
)
def test_numbers_that_are_not_e164_are_rejected(number):
    with pytest.raises(ValidationError) as error:
        PhoneNumber(number=number).full_clean()

    assert (
        "Enter a valid phone number in E.164 format, for example +14155550100."
        in error.value.message_dict["number"]
    )


def test_an_identity_differing_only_in_case_is_refused_with_a_clear_message(supervisor_client):
    AgentFactory(identity="alice")
    PhoneNumberFactory(number="+14155550100")

    response = supervisor_client.post(
        ADD_AGENT_URL, new_agent_form(TwimlAppFactory(), identity="Alice")
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "An agent with this identity already exists (identities are compared regardless of case)."
    ]
    assert not Agent.objects.filter(identity="Alice").exists()


def test_the_database_refuses_identities_differing_only_in_case():
    AgentFactory(identity="alice")

    with pytest.raises(IntegrityError), transaction.atomic():
        AgentFactory(identity="ALICE")


def test_a_caller_id_that_is_not_one_of_our_numbers_is_refused_with_the_twilio_error(
    supervisor_client,
):
    response = supervisor_client.post(ADD_AGENT_URL, new_agent_form(TwimlAppFactory()))

    assert response.status_code == 200
    [error] = response.context["adminform"].form.errors["caller_id"]
    assert "+14155550100 is not one of your phone numbers" in error
    assert "13214" in error
    assert not Agent.objects.exists()


def test_a_verified_caller_id_is_accepted_when_flagged(supervisor_client):
    response = supervisor_client.post(
        ADD_AGENT_URL,
        new_agent_form(TwimlAppFactory(), caller_id="+442071838750", caller_id_verified="on"),
    )

    assert response.status_code == 302
    agent = Agent.objects.get(identity="ivan_desk")
    assert (agent.caller_id, agent.caller_id_verified) == ("+442071838750", True)


@pytest.mark.parametrize(
    ("region", "typed", "stored"),
    [
        ("US", "+1 415 555 0100", "+14155550100"),
        ("US", "(415) 555-0100", "+14155550100"),
        ("US", "415.555.0100", "+14155550100"),
        ("GB", "020 7183 8750", "+442071838750"),
        ("GB", "+1-415-555-0100", "+14155550100"),
    ],
)
def test_caller_ids_typed_in_national_formats_are_stored_as_e164(
    supervisor_client, settings, region, typed, stored
):
    settings.DEFAULT_PHONE_REGION = region
    PhoneNumberFactory(number=stored)

    response = supervisor_client.post(
        ADD_AGENT_URL, new_agent_form(TwimlAppFactory(), caller_id=typed)
    )

    assert response.status_code == 302
    assert Agent.objects.get(identity="ivan_desk").caller_id == stored


def test_phone_numbers_typed_in_national_formats_are_stored_as_e164(supervisor_client):
    response = supervisor_client.post(
        "/admin/agents/phonenumber/add/",
        {"number": "(415) 555-0142", "friendly_name": "Sales", "unanswered_policy": "voicemail"},
    )

    assert response.status_code == 302
    assert PhoneNumber.objects.get().number == "+14155550142"


def test_the_agent_form_shows_and_sets_the_numbers_that_ring_the_agent(supervisor_client):
    agent = AgentFactory(caller_id="")
    sales, support, _ = PhoneNumberFactory(), PhoneNumberFactory(), PhoneNumberFactory()
    sales.agents.add(agent)
    url = f"/admin/agents/agent/{agent.pk}/change/"

    page = supervisor_client.get(url)
    response = supervisor_client.post(url, agent_change_form(agent, phone_numbers=[support.pk]))

    assert list(page.context["adminform"].form["phone_numbers"].initial) == [sales]
    assert response.status_code == 302
    assert list(agent.phone_numbers.all()) == [support]


def test_a_new_agent_is_put_on_the_numbers_chosen_in_its_form(supervisor_client):
    line = PhoneNumberFactory(number="+14155550100")

    response = supervisor_client.post(
        ADD_AGENT_URL, new_agent_form(TwimlAppFactory(), phone_numbers=[line.pk])
    )

    assert response.status_code == 302
    assert list(line.agents.values_list("identity", flat=True)) == ["ivan_desk"]


def test_a_forwarding_number_typed_nationally_is_stored_as_e164(supervisor_client):
    agent = AgentFactory(caller_id="")

    response = supervisor_client.post(
        f"/admin/agents/agent/{agent.pk}/change/",
        agent_change_form(agent, unanswered_policy="forward", forward_to="(415) 555-0199"),
    )

    assert response.status_code == 302
    agent.refresh_from_db()
    assert (agent.unanswered_policy, agent.forward_to) == ("forward", "+14155550199")


def test_an_agent_forward_to_one_of_our_numbers_is_refused_as_a_loop(supervisor_client):
    PhoneNumberFactory(number="+14155550100")
    agent = AgentFactory(caller_id="")

    response = supervisor_client.post(
        f"/admin/agents/agent/{agent.pk}/change/",
        agent_change_form(agent, unanswered_policy="forward", forward_to="(415) 555-0100"),
    )

    assert response.status_code == 200
    [error] = response.context["adminform"].form.errors["forward_to"]
    assert error.startswith("+14155550100 is one of your own numbers: forwarding to it would loop")
    agent.refresh_from_db()
    assert agent.forward_to == ""


@pytest.mark.parametrize("target", ["+14155550100", "+14155550142"])
def test_a_number_forward_to_itself_or_another_of_ours_is_refused_as_a_loop(
    supervisor_client, target
):
    PhoneNumberFactory(number="+14155550100")

    response = supervisor_client.post(
        "/admin/agents/phonenumber/add/",
        {"number": "+14155550142", "unanswered_policy": "forward", "forward_to": target},
    )

    assert response.status_code == 200
    [error] = response.context["adminform"].form.errors["forward_to"]
    assert f"{target} is one of your own numbers" in error
    assert not PhoneNumber.objects.filter(number="+14155550142").exists()


def test_a_new_number_that_an_agent_forwards_to_is_refused_naming_the_agent(supervisor_client):
    AgentFactory(identity="alice", unanswered_policy="forward", forward_to="+14155550199")

    response = supervisor_client.post(
        "/admin/agents/phonenumber/add/",
        {"number": "+14155550199", "unanswered_policy": "voicemail"},
    )

    assert response.status_code == 200
    [error] = response.context["adminform"].form.errors["number"]
    assert error.startswith("Unanswered calls to agent alice are forwarded to +14155550199")
    assert not PhoneNumber.objects.exists()
