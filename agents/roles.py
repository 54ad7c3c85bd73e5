"""The two staff roles, as Django groups, and what each may do."""

SUPERVISORS = "Supervisors"
ANALYSTS = "Analysts"

# Group name -> (app label, model, actions) the group is granted.
ROLE_PERMISSIONS = {
    SUPERVISORS: [
        ("agents", "twimlapp", ("add", "change", "delete", "view")),
        ("agents", "agent", ("add", "change", "delete", "view")),
        ("agents", "phonenumber", ("add", "change", "delete", "view")),
        ("calls", "call", ("view",)),
        ("calls", "callevent", ("view",)),
        ("calls", "reconcilerun", ("view",)),
    ],
    ANALYSTS: [
        ("calls", "call", ("view",)),
        ("calls", "callevent", ("view",)),
    ],
}
