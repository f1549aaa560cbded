"""Who may ask what of a decision: a table of senders × requests, each refusal with its reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pytest

from services.tasks.authorization import authorise, authorise_workflow, require_principal
from services.tasks.domain.decision import Decision
from shared.contract.events.decisions import (
    ActingAs,
    ActorChannel,
    Article,
    ConsultationCloseRequested,
    DecisionRequest,
    Disposition,
    DispositionSubmitted,
    DocType,
    DraftSubmitted,
    IssuanceRequested,
    ModerationOutcome,
    OpinionSubmitted,
    OverrideRequested,
    PublicCommentModerationSubmitted,
    PublicCommentSubmitted,
    RevisionSubmitted,
    Stance,
    SynthesisSubmitted,
    WithdrawalRequested,
)
from shared.contract.events.workflows import ComplaintKind, ComplaintReceiptSubmitted
from shared.eventsourcing.errors import DomainError
from shared.security.principal import Principal, Unauthenticated
from tests.unit.tasks.factories import BOARD, FRONT, ISSUER, PARTY, T0, consulting
from tests.unit.tasks.recording import chain_of

COMMUNE_PARTY = "xa-uy"


@dataclass
class Authority:
    """The org registry as authorisation sees it: systems → units, people → (unit, role)."""

    systems: dict[str, set[str]] = field(
        default_factory=lambda: {
            "sys.issuer": {ISSUER},
            "sys.board": {BOARD},
            "sys.front": {FRONT},
            "sys.party": {PARTY},
            "sys.commune": {COMMUNE_PARTY},
            "sys.rogue": set(),
        }
    )
    positions: dict[str, set[tuple[str, str]]] = field(
        default_factory=lambda: {
            "p.secretary": {(PARTY, "party_secretary")},
            "p.commune-secretary": {(COMMUNE_PARTY, "party_secretary")},
            "p.board-head": {(BOARD, "truong_ban")},
        }
    )

    def acts_for(self, system_id: str, unit_id: str, at: datetime) -> bool:
        return unit_id in self.systems.get(system_id, set())

    def member_of(self, person_id: str, unit_id: str, at: datetime) -> bool:
        return any(u == unit_id for u, _ in self.positions.get(person_id, set()))

    def override_authorities(self, decision: Decision, at: datetime) -> tuple[tuple[str, str], ...]:
        return ((PARTY, "party_secretary"),)  # the same-level party committee only

    def holds_role_in(self, person_id: str, role: str, unit_id: str, at: datetime) -> bool:
        return (unit_id, role) in self.positions.get(person_id, set())

    def unit_name(self, unit_id: str, at: datetime) -> str:
        return unit_id

    def knows_unit(self, unit_id: str, at: datetime) -> bool:
        return unit_id != "nowhere"


def p(system_id: str, kind: str = "agency") -> Principal:
    return Principal(system_id=system_id, kid="k" * 43, kind=kind, signed_at=T0)


NOTIFY = p("notify", "link_gateway")
BASE = {"request_id": "r1", "decision_id": "qd-1", "submitted_at": T0}


def opinion(**kw: object) -> OpinionSubmitted:
    data: dict[str, object] = {
        **BASE,
        "link_token_id": "tok-1",
        "consultee_unit_id": FRONT,
        "person_id": "p.front",
        "acting_as": ActingAs.HOLDER,
        "stance": Stance.AGREE,
        "draft_version": 1,
    }
    data.update(kw)
    return OpinionSubmitted.model_validate(data)


DRAFT = DraftSubmitted(
    **BASE,
    issuer_unit_id=ISSUER,
    submitted_by="p.x",
    doc_type=DocType.DECISION,
    title="t",
    articles=(Article(article_id="d1", text="x"),),
)
ISSUER_REQUESTS: list[DecisionRequest] = [
    DRAFT,
    RevisionSubmitted(**BASE, submitted_by="p.x", articles=(Article(article_id="d1", text="y"),)),
    ConsultationCloseRequested(**BASE, requested_by="p.x"),
    WithdrawalRequested(**BASE, by_person_id="p.x", reason="r"),
    IssuanceRequested(**BASE, requested_by="p.x"),
    DispositionSubmitted(**BASE, opinion_id="o1", disposition=Disposition.ACCEPTED, by_unit_id=ISSUER),
]


def refused(principal: Principal, r: DecisionRequest) -> str:
    with pytest.raises(DomainError) as info:
        authorise(principal, r, consulting(), Authority(), T0)
    assert info.value.message_vi
    return info.value.code


@pytest.mark.parametrize("request_", ISSUER_REQUESTS, ids=lambda r: r.event_type)
def test_only_the_issuers_system_acts_on_its_draft(request_: DecisionRequest) -> None:
    actor = authorise(p("sys.issuer"), request_, consulting(), Authority(), T0)
    assert actor.channel == ActorChannel.AGENCY_SYSTEM and actor.system_id == "sys.issuer"
    assert actor.unit_id == ISSUER
    for other in ("sys.board", "sys.front", "sys.rogue", "sys.party"):
        assert refused(p(other), request_) == "system_not_authorised_for_unit"
    assert refused(NOTIFY, request_) == "system_not_authorised_for_unit"


def test_unsigned_and_badly_signed_requests_go_no_further() -> None:
    with pytest.raises(DomainError) as info:
        require_principal(None)
    assert info.value.code == "unsigned_request"
    with pytest.raises(DomainError) as info:
        require_principal(Unauthenticated("revoked_key", "Khóa đã bị thu hồi."))
    assert info.value.code == "revoked_key"


def test_synthesis_only_by_the_named_board_and_a_person_of_that_board() -> None:
    good = SynthesisSubmitted(**BASE, by_unit_id=BOARD, by_person_id="p.board-head", summary="s")
    actor = authorise(p("sys.board"), good, consulting(), Authority(), T0)
    assert (actor.unit_id, actor.person_id) == (BOARD, "p.board-head")
    invented = good.model_copy(update={"by_person_id": "p.invented"})
    assert refused(p("sys.board"), invented) == "person_not_in_board"
    assert refused(p("sys.issuer"), good) == "system_not_authorised_for_unit"
    as_front = good.model_copy(update={"by_unit_id": FRONT})
    assert refused(p("sys.front"), as_front) == "not_the_synthesiser"


def test_override_only_by_the_role_in_the_same_level_party_committee() -> None:
    good = OverrideRequested(**BASE, by_person_id="p.secretary", role="party_secretary", reason="khẩn cấp")
    actor = authorise(p("sys.party"), good, consulting(), Authority(), T0)
    assert actor.channel == ActorChannel.OVERRIDE and actor.person_id == "p.secretary"
    # the commune secretary holds the same role, but in a party committee of another level
    commune = good.model_copy(update={"by_person_id": "p.commune-secretary"})
    assert refused(p("sys.party"), commune) == "role_not_held"
    assert refused(p("sys.commune"), commune) == "system_not_authorised_for_unit"
    guessed = good.model_copy(update={"by_person_id": "p.guessed"})
    assert refused(p("sys.party"), guessed) == "role_not_held"
    other_role = good.model_copy(update={"role": "chu_tich"})
    assert refused(p("sys.party"), other_role) == "role_not_authorised"


def test_opinions_through_notify_links_or_the_consultees_own_system() -> None:
    via_link = authorise(NOTIFY, opinion(), consulting(), Authority(), T0)
    assert via_link.channel == ActorChannel.LINK and via_link.system_id == "notify"
    own = authorise(p("sys.front"), opinion(link_token_id=None), consulting(), Authority(), T0)
    assert own.channel == ActorChannel.AGENCY_SYSTEM and own.unit_id == FRONT
    # a rogue system naming a link id (that does not exist), or another unit's system
    assert refused(p("sys.rogue"), opinion()) == "link_not_issued_here"
    assert refused(p("sys.rogue"), opinion(link_token_id=None)) == "system_not_authorised_for_unit"
    assert refused(p("sys.issuer"), opinion(link_token_id=None)) == "system_not_authorised_for_unit"
    assert refused(NOTIFY, opinion(link_token_id=None)) == "link_required"


def test_public_comments_and_moderation() -> None:
    comment = PublicCommentSubmitted(**BASE, text="góp ý")
    assert authorise(NOTIFY, comment, consulting(), Authority(), T0).channel == ActorChannel.PUBLIC_PAGE
    assert authorise(p("sys.issuer"), comment, consulting(), Authority(), T0).unit_id == ISSUER
    assert refused(p("sys.rogue"), comment) == "system_not_authorised_for_unit"
    mod = PublicCommentModerationSubmitted(
        **BASE, comment_id="c1", outcome=ModerationOutcome.APPROVED, moderator_id="p.board-head"
    )
    assert authorise(p("sys.board"), mod, consulting(), Authority(), T0).unit_id == BOARD
    assert authorise(NOTIFY, mod, consulting(), Authority(), T0).channel == ActorChannel.LINK
    assert refused(p("sys.issuer"), mod) == "system_not_authorised_for_unit"


def test_a_disposition_for_another_body_is_refused() -> None:
    r = DispositionSubmitted(**BASE, opinion_id="o1", disposition=Disposition.ACCEPTED, by_unit_id=FRONT)
    assert refused(p("sys.issuer"), r) == "not_the_drafting_body"


def test_workflow_requests_need_a_system_acting_for_the_named_unit() -> None:
    r = ComplaintReceiptSubmitted(
        request_id="r",
        submitted_at=T0,
        complaint_id="c1",
        kind=next(iter(ComplaintKind)),
        receiving_unit_id=ISSUER,
        summary="s",
    )
    acts = Authority().acts_for
    assert authorise_workflow(p("sys.issuer"), r, acts, T0).system_id == "sys.issuer"
    with pytest.raises(DomainError) as info:
        authorise_workflow(p("sys.rogue"), r, acts, T0)
    assert info.value.code == "system_not_authorised_for_unit"
    with pytest.raises(DomainError):
        authorise_workflow(None, r, acts, T0)


def test_facts_carry_their_actor_and_replay_keeps_it() -> None:
    d = consulting()
    d.acting = authorise(NOTIFY, opinion(draft_version=d.version), d, Authority(), T0)
    [fact] = d.give_opinion(
        "r-op",
        consultee_unit_id=FRONT,
        given_by="p.front",
        acting_as=ActingAs.HOLDER,
        stance=Stance.AGREE,
        comments={},
        draft_version=d.version,
        at=T0,
    )
    assert fact.actor is not None and fact.actor.channel == ActorChannel.LINK
    assert d.history[-1] == fact  # what the repository stores is the stamped fact
    again = Decision.replay(d.history)
    assert again.opinions[fact.opinion_id].actor == fact.actor
    assert again.snapshot() == d.snapshot()
    assert chain_of(d.history).verify().ok


def test_a_request_for_a_unit_the_registry_does_not_know_says_so() -> None:
    assert refused(p("sys.issuer"), DRAFT.model_copy(update={"issuer_unit_id": "nowhere"})) == "unknown_unit"
