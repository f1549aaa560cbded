"""Property-based proof of the rule: no sequence of commands reaches ISSUED while the rule is
unmet (and no authorised override is recorded); replay always equals the live aggregate; a
redelivered command is a no-op; a refused command changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from services.tasks.domain.decision import Decision, DecisionStatus
from shared.contract.events.decisions import (
    ActingAs,
    ConsultationRequested,
    ConsultationRequirement,
    DecisionDrafted,
    DecisionFact,
    DecisionIssued,
    DecisionRevised,
    DecisionSynthesised,
    Disposition,
    ModerationOutcome,
    OpinionRecorded,
    OverrideRecorded,
    PublicCommentClosed,
    PublicCommentOpened,
    Stance,
)
from shared.eventsourcing.errors import DomainError
from tests.unit.tasks.factories import (
    ARTICLES,
    AUTHORISED_ROLE,
    BOARD,
    FRONT,
    ISSUER,
    T0,
    UNITS,
    drafted,
    requirement,
)
from tests.unit.tasks.recording import RecordedDecision, chain_of

ARTICLE_IDS = ("d1", "d2", "d3", "d4")
ROLES = (AUTHORISED_ROLE, "drafter", "office_chief")


def rule_was_met_at_issuance(history: Sequence[DecisionFact]) -> bool:
    """Independent oracle, computed from the facts alone (not from the aggregate's methods).

    An opinion is valid on version V iff every article it commented on has the same text in
    every version from the one it was given on up to V.
    """
    texts: dict[int, dict[str, str]] = {}
    version = 0
    req: ConsultationRequirement | None = None
    latest: dict[str, OpinionRecorded] = {}
    overrides: list[OverrideRecorded] = []
    synthesis: DecisionSynthesised | None = None
    pc_opened = pc_closed = False
    for e in history:
        if isinstance(e, DecisionDrafted | DecisionRevised):
            version = e.version
            texts[version] = {a.article_id: a.text for a in e.articles}
        elif isinstance(e, ConsultationRequested):
            req = e.requirement
        elif isinstance(e, OpinionRecorded):
            latest[e.consultee_unit_id] = e
        elif isinstance(e, OverrideRecorded):
            overrides.append(e)
        elif isinstance(e, DecisionSynthesised):
            synthesis = e
        elif isinstance(e, PublicCommentOpened):
            pc_opened = True
        elif isinstance(e, PublicCommentClosed):
            pc_closed = True
        elif isinstance(e, DecisionIssued):
            if req is None or synthesis is None or synthesis.draft_version != version:
                return False
            if req.public_comment_required and not (pc_opened and pc_closed):
                return False
            for c in req.consultees:
                op = latest.get(c.unit_id)
                valid = op is not None and all(
                    texts[v].get(cm.article_id) == texts[op.draft_version].get(cm.article_id)
                    for v in range(op.draft_version, version + 1)
                    for cm in op.comments
                )
                overridden = any(
                    o.draft_version == version
                    and c.unit_id in o.consultee_unit_ids
                    and o.role in req.override_roles
                    for o in overrides
                )
                if not (valid or overridden):
                    return False
    return True


class DecisionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.d: RecordedDecision = drafted()
        self.now: datetime = T0
        self.n = 0
        self.delivered: list[tuple[Callable[[], list[DecisionFact]], str]] = []
        self.revision = 0

    # ---------------------------------------------------------------- plumbing

    def _id(self) -> str:
        self.n += 1
        return f"h-{self.n}"

    def _run(self, fn: Callable[[str], list[DecisionFact]]) -> None:
        cid = self._id()
        before = self.d.snapshot()
        try:
            events = fn(cid)
        except DomainError as exc:
            assert exc.code and exc.message_vi
            assert self.d.snapshot() == before, "refused command changed state"
            return
        if events:
            self.delivered.append((lambda: fn(cid), cid))

    # ---------------------------------------------------------------- rules

    @initialize(consult=st.booleans())
    def start(self, consult: bool) -> None:
        if consult:
            self.request_consultation(False, False, 3)

    @rule(minutes=st.integers(min_value=0, max_value=60 * 24 * 6))
    def advance_time(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(public=st.booleans(), dispositions=st.booleans(), days=st.integers(min_value=1, max_value=8))
    def request_consultation(self, public: bool, dispositions: bool, days: int) -> None:
        now = self.now
        req = requirement(
            deadline=now + timedelta(days=days),
            public_comment_required=public,
            public_comment_closes_at=now + timedelta(days=2) if public else None,
            dispositions_required=dispositions,
        )
        self._run(lambda cid: self.d.request_consultation(cid, requirement=req, at=now))

    @rule(
        unit=st.sampled_from((*UNITS, "stranger")),
        stance=st.sampled_from(Stance),
        commented=st.sets(st.sampled_from(ARTICLE_IDS), max_size=2),
        stale=st.booleans(),
    )
    def give_opinion(self, unit: str, stance: Stance, commented: set[str], stale: bool) -> None:
        now, version = self.now, self.d.version - (1 if stale else 0)
        comments = {a: f"góp ý {a}" for a in sorted(commented)}
        self._run(
            lambda cid: self.d.give_opinion(
                cid,
                consultee_unit_id=unit,
                given_by="p",
                acting_as=ActingAs.HOLDER,
                stance=stance,
                comments=comments,
                general_comment="lý do" if stance is Stance.DISAGREE else "",
                draft_version=version,
                at=now,
            )
        )

    @rule(
        changed=st.sets(st.sampled_from(ARTICLE_IDS), max_size=3), days=st.integers(min_value=0, max_value=5)
    )
    def revise(self, changed: set[str], days: int) -> None:
        self.revision += 1
        current = dict(self.d.articles) or dict(ARTICLES)
        new: dict[str, str] = {}
        for aid in ARTICLE_IDS:
            if aid in changed:
                if aid in current and aid != "d1":
                    continue  # a changed existing article may disappear
                new[aid] = f"{aid} bản {self.revision}"
            elif aid in current:
                new[aid] = current[aid]
        if not new:
            new = {"d1": f"d1 bản {self.revision}"}
        now = self.now
        deadline = now + timedelta(days=days)
        self._run(
            lambda cid: self.d.revise(
                cid, articles=list(new.items()), at=now, reconsultation_deadline=deadline
            )
        )

    @rule(commented=st.sets(st.sampled_from(ARTICLE_IDS[:3]), max_size=1))
    def every_consultee_answers(self, commented: set[str]) -> None:
        """Cooperative step so that runs also reach CLOSED / SYNTHESISED / ISSUED."""
        for unit in UNITS:
            if not self.d.has_valid_opinion(unit):
                self.give_opinion(
                    unit, Stance.AGREE_WITH_AMENDMENTS if commented else Stance.AGREE, commented, False
                )

    @rule()
    def progress(self) -> None:
        """Cooperative step: try to move the main line forward (consult, close, synthesise, issue)."""
        if self.d.status is DecisionStatus.DRAFTED:
            self.request_consultation(False, False, 3)
        elif self.d.status in (DecisionStatus.COLLECTING, DecisionStatus.REVISED):
            self.close()
        elif self.d.status is DecisionStatus.CONSULTATION_CLOSED:
            self.synthesise(BOARD)
        else:
            self.request_issuance()

    @rule(data=st.data())
    def revise_a_commented_article(self, data: st.DataObject) -> None:
        """Targeted step: change an article someone commented on (forces a re-consultation)."""
        commented = sorted(
            {
                cm.article_id
                for op in self.d.opinions.values()
                for cm in op.comments
                if cm.article_id in self.d.articles
            }
        )
        if not commented:
            return
        aid = data.draw(st.sampled_from(commented))
        self.revision += 1
        new = dict(self.d.articles)
        new[aid] = f"{aid} bản {self.revision}"
        now = self.now
        self._run(
            lambda cid: self.d.revise(
                cid, articles=list(new.items()), at=now, reconsultation_deadline=now + timedelta(days=3)
            )
        )

    @rule(article=st.sampled_from((None, *ARTICLE_IDS)))
    def public_comment(self, article: str | None) -> None:
        now = self.now
        self._run(
            lambda cid: self.d.record_public_comment(cid, text="Ý kiến nhân dân", article_id=article, at=now)
        )

    @rule(index=st.integers(min_value=1, max_value=4), approve=st.booleans())
    def moderate(self, index: int, approve: bool) -> None:
        outcome = ModerationOutcome.APPROVED if approve else ModerationOutcome.REJECTED
        now = self.now
        self._run(
            lambda cid: self.d.moderate_public_comment(
                cid,
                comment_id=f"qd-1:pc:{index}",
                outcome=outcome,
                moderator_id="m",
                reason="Không phù hợp",
                at=now,
            )
        )

    @rule()
    def close(self) -> None:
        now = self.now
        self._run(lambda cid: self.d.close_consultation(cid, at=now))

    @rule(unit=st.sampled_from((BOARD, FRONT)))
    def synthesise(self, unit: str) -> None:
        now = self.now
        self._run(lambda cid: self.d.synthesise(cid, by_unit_id=unit, summary="Tổng hợp", at=now))

    @rule(index=st.integers(min_value=1, max_value=6), disposition=st.sampled_from(Disposition))
    def dispose(self, index: int, disposition: Disposition) -> None:
        now = self.now
        self._run(
            lambda cid: self.d.record_disposition(
                cid,
                opinion_id=f"qd-1:op:{index}",
                disposition=disposition,
                reason="Giải trình",
                by_unit_id=ISSUER,
                at=now,
            )
        )

    @rule(role=st.sampled_from(ROLES), units=st.sets(st.sampled_from(UNITS), max_size=2))
    def override(self, role: str, units: set[str]) -> None:
        now = self.now
        self._run(
            lambda cid: self.d.override(
                cid,
                by_person_id="p",
                role=role,
                reason="Cần ban hành gấp",
                at=now,
                consultee_unit_ids=sorted(units),
            )
        )

    @rule()
    def request_issuance(self) -> None:
        now = self.now
        self._run(lambda cid: self.d.request_issuance(cid, requested_by="p", at=now))

    @rule(data=st.data())
    def withdraw_rarely(self, data: st.DataObject) -> None:
        if data.draw(st.integers(min_value=0, max_value=29)) == 0:
            now = self.now
            self._run(lambda cid: self.d.withdraw(cid, by_person_id="p", reason="Rút", at=now))

    @rule()
    def tick(self) -> None:
        before = len(self.d.history)
        self.d.tick(self.now)
        after = self.d.snapshot()
        assert self.d.tick(self.now) == [], "a second tick at the same instant fires nothing"
        assert self.d.snapshot() == after
        assert len(self.d.history) >= before

    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        if not self.delivered:
            return
        fn, _ = data.draw(st.sampled_from(self.delivered))
        before = self.d.snapshot()
        assert fn() == []
        assert self.d.snapshot() == before

    def teardown(self) -> None:
        event(f"final status: {self.d.status}")
        if any(isinstance(e, DecisionRevised) and e.reopened_consultee_unit_ids for e in self.d.history):
            event("a revision re-opened consultees")
        if self.d.status is DecisionStatus.ISSUED:
            issued = next(e for e in self.d.history if isinstance(e, DecisionIssued))
            event(f"issued with exception: {issued.with_exception}")

    # ---------------------------------------------------------------- invariants

    @invariant()
    def never_issued_while_rule_unmet(self) -> None:
        if self.d.status is DecisionStatus.ISSUED:
            assert rule_was_met_at_issuance(self.d.history)
            assert sum(isinstance(e, DecisionIssued) for e in self.d.history) == 1

    @invariant()
    def replay_equals_live(self) -> None:
        assert Decision.replay(self.d.history).snapshot() == self.d.snapshot()

    @invariant()
    def chain_intact_and_seq_contiguous(self) -> None:
        assert chain_of(self.d.history).verify().ok
        assert [e.seq for e in self.d.history] == list(range(1, len(self.d.history) + 1))


DecisionMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=50, deadline=None)
TestDecisionMachine = DecisionMachine.TestCase


# ------------------------------------------------------------------ reachability and revision property


def test_oracle_agrees_on_a_legitimate_issuance() -> None:
    from tests.unit.tasks.factories import synthesised

    d = synthesised()
    d.request_issuance("iss", requested_by="p", at=T0 + timedelta(days=30))
    assert rule_was_met_at_issuance(d.history)
    forged = [e for e in d.history if not isinstance(e, OpinionRecorded)]
    assert not rule_was_met_at_issuance(forged)


@settings(max_examples=200, deadline=None)
@given(
    commented=st.fixed_dictionaries(
        {u: st.sets(st.sampled_from(("d1", "d2", "d3")), max_size=2) for u in UNITS}
    ),
    changed=st.sets(st.sampled_from(("d1", "d2", "d3")), min_size=1),
)
def test_revise_reopens_exactly_changed_commenters(commented: dict[str, set[str]], changed: set[str]) -> None:
    from tests.unit.tasks.factories import consulting, give

    d = consulting()
    for unit in UNITS:
        comments = {a: "sửa" for a in commented[unit]}
        give(d, unit, stance=Stance.AGREE_WITH_AMENDMENTS if comments else Stance.AGREE, comments=comments)
    new = [(aid, text + " *" if aid in changed else text) for aid, text in ARTICLES]
    (rev,) = d.revise("rev", articles=new, at=T0, reconsultation_deadline=T0 + timedelta(days=20))
    assert isinstance(rev, DecisionRevised)
    expected = {u for u in UNITS if commented[u] & changed}
    assert set(rev.reopened_consultee_unit_ids) == expected
    assert {c.unit_id for c in d.missing_consultees()} == expected
