"""Stage gates as pure rules: every branch, no database."""

from dataclasses import replace
from decimal import Decimal

import pytest

from studio.gates import (
    RIGHTS,
    STAGES,
    SongFacts,
    gate_checks,
    is_forward,
    song_can_enter_stage,
)
from studio.models import Right, Stage

READY = SongFacts(
    stage="mastering",
    has_approved_mix=True,
    has_approved_master=True,
    split_totals={"composition": Decimal("100.00"), "master": Decimal("100.00")},
    pending_or_denied_samples=0,
    composer_credits=1,
    performer_credits=1,
)


def test_ready_song_may_be_delivered():
    assert song_can_enter_stage(READY, "delivered") == []


@pytest.mark.parametrize("to", ["recording", "editing", "mixing"])
def test_early_stages_pass_when_their_tasks_are_done(to):
    facts = replace(READY, stage="pre_production", has_approved_mix=False)
    assert song_can_enter_stage(facts, to) == []


def test_every_forward_move_checks_the_open_tasks_of_the_stages_it_leaves():
    """A song with open tasks went from pre-production to mixing with "Nothing blocks this
    move" (issue 13)."""
    facts = replace(
        READY,
        stage="pre_production",
        has_approved_mix=False,
        open_tasks={"pre_production": 2, "recording": 1, "mixing": 4},
    )
    assert song_can_enter_stage(facts, "recording") == ["2 open pre-production tasks"]
    assert song_can_enter_stage(facts, "mixing") == [
        "2 open pre-production tasks",
        "1 open recording task",
    ]  # mixing's own tasks are for the mixing stage, not for entering it
    checks = gate_checks(facts, "editing")
    assert all(c.overridable for c in checks if "task" in c.label)
    assert song_can_enter_stage(facts, "mixing", override=True) == []
    assert song_can_enter_stage(facts, "mastering", override=True) == ["no approved mix yet"]


def test_project_checks_apply_to_moves_out_of_recording_and_are_not_overridable():
    facts = replace(
        READY,
        stage="recording",
        has_approved_mix=False,
        project_checks=frozenset({"stems_uploaded", "keeper_for_every_part"}),
        stems_and_takes=0,
        parts_without_keeper=2,
    )
    expected = ["no stems or takes uploaded yet", "2 parts have no keeper take"]
    assert song_can_enter_stage(facts, "editing") == expected
    assert song_can_enter_stage(facts, "editing", override=True) == expected
    ok = replace(facts, stems_and_takes=3, parts_without_keeper=0)
    assert song_can_enter_stage(ok, "editing") == []
    assert song_can_enter_stage(replace(facts, stage="pre_production"), "recording") == []


def test_move_into_mastering_requires_approved_mix():
    facts = replace(READY, stage="mixing", has_approved_mix=False)
    assert song_can_enter_stage(facts, "mastering") == ["no approved mix yet"]


def test_jumping_past_mastering_still_needs_its_gate():
    facts = replace(READY, stage="editing", has_approved_mix=False)
    assert "no approved mix yet" in song_can_enter_stage(facts, "delivered")


def test_delivery_lists_every_unmet_reason():
    facts = SongFacts(
        stage="mastering",
        has_approved_mix=True,
        has_approved_master=False,
        split_totals={"composition": Decimal("90.00")},
        pending_or_denied_samples=2,
        composer_credits=0,
        performer_credits=0,
    )
    assert song_can_enter_stage(facts, "delivered") == [
        "no approved master yet",
        "composition splits total 90.00, not 100.00",
        "no master recording splits yet",
        "2 sample uses pending or denied clearance",
        "no composer credited",
        "no performer credited",
    ]


def test_one_pending_sample_is_singular():
    facts = replace(READY, pending_or_denied_samples=1)
    assert song_can_enter_stage(facts, "delivered") == ["1 sample use pending or denied clearance"]


@pytest.mark.parametrize("to", STAGES[:4])
def test_moving_back_has_no_gate(to):
    facts = replace(READY, has_approved_mix=False, has_approved_master=False)
    assert song_can_enter_stage(facts, to) == []


def test_same_stage_and_unknown_stage_are_refused():
    assert song_can_enter_stage(READY, "mastering") == ["the song is already in mastering"]
    assert song_can_enter_stage(READY, "karaoke") == ["unknown stage 'karaoke'"]


def test_is_forward_follows_the_pipeline_order():
    assert is_forward("pre_production", "delivered")
    assert not is_forward("mastering", "mixing")


def test_the_gates_know_the_models_choices_in_order():
    """gates.py stays free of the ORM, so it spells the stages and rights out; this ties them to
    the models' choices (a stage added to the model and not to the gate fails here)."""
    assert tuple(Stage.values) == STAGES
    assert tuple(Right.values) == RIGHTS


def test_checks_list_every_condition_met_or_not():
    """The checklist holds every condition of the gate; its unmet reasons are the refusal's."""
    facts = replace(READY, stage="mastering", has_approved_master=False, composer_credits=0)
    checks = gate_checks(facts, "delivered")
    assert [c.label for c in checks] == [
        "mastering tasks done",
        "an approved mix",
        "an approved master",
        "composition splits total 100.00",
        "master recording splits total 100.00",
        "no sample use pending or denied",
        "a composer credited",
        "a performer credited",
    ]
    assert [c.reason for c in checks if not c.met] == song_can_enter_stage(facts, "delivered")
    assert [c.label for c in checks if not c.met] == ["an approved master", "a composer credited"]


def test_moving_back_has_no_checks():
    assert gate_checks(replace(READY, stage="delivered"), "mixing") == []
