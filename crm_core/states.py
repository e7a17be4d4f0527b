"""Dynamics' statecode/statuscode pairs: each status reason belongs to one state."""

from dataclasses import dataclass, field

from crm_core.errors import InvalidStateTransition, ValidationFailed


@dataclass(frozen=True)
class State:
    code: int
    name: str
    default_status: int
    statuses: dict[int, str]


@dataclass(frozen=True)
class StateModel:
    states: tuple[State, ...]
    # Which states may move to which; absent means any move between different states is allowed.
    transitions: dict[int, frozenset[int]] = field(default_factory=dict)
    # States in which the record is read-only until it is reactivated.
    closed: frozenset[int] = frozenset()

    def state(self, code: int) -> State:
        for s in self.states:
            if s.code == code:
                return s
        names = ", ".join(f"{s.code} {s.name}" for s in self.states)
        raise ValidationFailed.field("statecode", f"unknown state {code}; expected one of {names}")

    def resolve(self, statecode: int, statuscode: int | None) -> tuple[int, int]:
        """The (state, status) pair to store: the state's default status when none is given."""
        state = self.state(statecode)
        if statuscode is None:
            return state.code, state.default_status
        if statuscode not in state.statuses:
            allowed = ", ".join(f"{k} {v}" for k, v in state.statuses.items())
            raise ValidationFailed.field(
                "statuscode", f"status {statuscode} does not belong to state {state.name}; expected {allowed}"
            )
        return state.code, statuscode

    def state_of(self, statuscode: int, among: tuple[int, ...] | None = None) -> int:
        """The state a status reason belongs to (only `among` these states, if given); ValidationFailed if none."""
        for s in self.states:
            if statuscode in s.statuses and (among is None or s.code in among):
                return s.code
        allowed = ", ".join(f"{k} {v}" for s in self.states if among is None or s.code in among
                            for k, v in s.statuses.items())
        raise ValidationFailed.field("statuscode", f"status {statuscode} is not one of {allowed}")

    def check_transition(self, current: int, target: int) -> None:
        """A move between states must be allowed; a new status reason within the same state always is."""
        allowed = self.transitions.get(current)
        if target != current and allowed is not None and target not in allowed:
            raise InvalidStateTransition(
                f"cannot move from {self.state(current).name} to {self.state(target).name}"
            )

    def label(self, statecode: int, statuscode: int) -> tuple[str, str]:
        state = self.state(statecode)
        return state.name, state.statuses.get(statuscode, str(statuscode))


ACTIVE_INACTIVE = StateModel(
    states=(State(0, "Active", 1, {1: "Active"}), State(1, "Inactive", 2, {2: "Inactive"})),
    closed=frozenset({1}),
)

LEAD = StateModel(
    states=(
        State(0, "Open", 1, {1: "New", 2: "Contacted"}),
        State(1, "Qualified", 3, {3: "Qualified"}),
        State(2, "Disqualified", 4, {4: "Lost", 5: "Cannot Contact", 6: "No Longer Interested", 7: "Canceled"}),
    ),
    transitions={0: frozenset({1, 2}), 1: frozenset({0}), 2: frozenset({0})},
    closed=frozenset({1, 2}),
)


def activity_states(
    open_: dict[int, str], completed: dict[int, str], canceled: dict[int, str],
    scheduled: dict[int, str] | None = None,
) -> StateModel:
    """Activities share Open 0, Completed 1, Canceled 2 and (some) Scheduled 3; closed ones are read-only."""
    states = [
        State(0, "Open", next(iter(open_)), open_),
        State(1, "Completed", next(iter(completed)), completed),
        State(2, "Canceled", next(iter(canceled)), canceled),
    ]
    if scheduled:
        states.append(State(3, "Scheduled", next(iter(scheduled)), scheduled))
    return StateModel(states=tuple(states), closed=frozenset({1, 2}))
