"""Traces built from the model: their ITF documents, the message lives the pictures draw,
the message-sequence chart, the state graph, the text and the HTML page."""

import json

import pytest

from checks.targets.model_target import ModelTarget
from checks.trace.chart import message_sequence_chart
from checks.trace.document import (
    TRACE_VERSION,
    PropertyInfo,
    TraceError,
    TraceMeta,
    dumps,
    from_itf,
    to_itf,
)
from checks.trace.encoding import trace_from_path
from checks.trace.html import render_html
from checks.trace.itf import validate
from checks.trace.state_graph import explore_graph, state_graph_dot
from checks.trace.text import show_text
from checks.trace.view import build_view

NETWORK_BOUNDS = {"max_drops": 1, "max_duplicates": 1}


def walk(target, prefixes):
    """The path taking, at each step, the first action whose text starts with the prefix."""
    state = target.initial_states()[0]
    path = [(None, state)]
    for prefix in prefixes:
        choices = [
            (a, s)
            for a, s in target.successors(state)
            if target.format_action(a).startswith(prefix)
        ]
        assert choices, f"no action {prefix!r} enabled"
        action, state = choices[0]
        path.append((action, state))
    return path


def network_trace():
    """Server 1 campaigns; the network duplicates its request to 2 (both copies
    delivered) and drops its request to 3; server 2's answers stay in flight."""
    target = ModelTarget(**NETWORK_BOUNDS)
    path = walk(
        target,
        [
            "Timeout(1)",
            "Duplicate(RequestVote 1->2",
            "Deliver(RequestVote 1->2",
            "Deliver(RequestVote 1->2",
            "Drop(RequestVote 1->3",
        ],
    )
    meta = TraceMeta(target="model", nodes=3, bounds=dict(target.bounds))
    return trace_from_path(target, path, meta)


def violation_trace():
    """small_majority: two leaders in term 2 after two timeouts."""
    target = ModelTarget(variant="small_majority")
    path = walk(target, ["Timeout(1)", "Timeout(2)"])
    meta = TraceMeta(
        target="model",
        variant="small_majority",
        nodes=3,
        bounds=dict(target.bounds),
        command="python -m checks.explore --target model --variant small_majority",
        property=PropertyInfo("ElectionSafety", "always", "At most one leader per term."),
        violation_step=2,
    )
    return trace_from_path(target, path, meta)


def test_trace_document_follows_itf_and_reads_back_equal():
    trace = network_trace()
    document = to_itf(trace)
    validate(document)
    assert document["vars"][:3] == ["action", "mbt::actionTaken", "mbt::nondetPicks"]
    assert document["#meta"]["format"] == "ITF"
    assert document["#meta"]["version"] == TRACE_VERSION
    assert from_itf(json.loads(dumps(trace))) == trace


def test_every_state_records_action_servers_and_messages():
    trace = network_trace()
    first, timeout = trace.steps[0], trace.steps[1]
    assert (first.action, first.kind, first.params) == ("init", "init", {})
    assert (timeout.action, timeout.kind, timeout.params) == (
        "Timeout(1)",
        "Timeout",
        {"server": 1},
    )
    server = dict(timeout.state["servers"].pairs)[1]
    assert (server["role"], server["term"], server["vote"]) == ("Candidate", 2, 1)
    in_flight = [(m["type"], m["from"], m["to"], n) for m, n in timeout.state["network"].pairs]
    assert sorted(in_flight) == [("RequestVote", 1, 2, 1), ("RequestVote", 1, 3, 1)]
    assert trace.steps[5].params["message"]["to"] == 3


def test_writing_is_deterministic():
    assert dumps(network_trace()) == dumps(network_trace())


def test_unknown_version_and_foreign_itf_are_refused():
    document = to_itf(network_trace())
    document["#meta"]["version"] = "raft-ref-trace/99"
    with pytest.raises(TraceError, match="unknown trace version 'raft-ref-trace/99'"):
        from_itf(document)
    del document["#meta"]["version"]
    with pytest.raises(TraceError, match="not one raft-ref wrote"):
        from_itf(document)


def test_violation_step_outside_the_trace_is_refused():
    document = to_itf(violation_trace())
    document["#meta"]["violation_step"] = 7
    with pytest.raises(TraceError, match="violation_step 7"):
        from_itf(document)


def test_message_lives_pair_sends_with_deliveries_drops_and_copies():
    view = build_view(network_trace())
    lives = sorted(
        (m.label.split(" t")[0], m.sent_step, m.fate, m.end_step, m.duplicate)
        for m in view.messages
    )
    assert lives == [
        ("RequestVote 1->2", 1, "delivered", 3, False),
        ("RequestVote 1->2", 1, "delivered", 4, True),
        ("RequestVote 1->3", 1, "dropped", 5, False),
        ("RequestVoteResponse 2->1", 3, "in flight", None, False),
        ("RequestVoteResponse 2->1", 4, "in flight", None, False),
    ]
    assert [step for step, _ in view.duplications] == [2]


def test_changed_cells_and_annotations_follow_the_servers():
    view = build_view(network_trace())
    assert view.steps[1].changed["1"] == ["role", "term", "vote", "granted"]
    assert view.steps[1].annotations == {"1": "term 2, Candidate"}
    assert view.steps[0].annotations["4"] == "term 1, Follower, commit 1, config {1,2,3}"
    assert view.steps[2].changed == {"1": [], "2": [], "3": [], "4": []}


def test_chart_has_a_lane_per_server_and_draws_each_message_fate():
    trace = network_trace()
    source = message_sequence_chart(trace).source
    for server in "1234":
        assert f"head_{server}" in source
    assert source.count("dropped: RequestVote 1->3") == 1
    assert source.count("copy: RequestVote 1->2") == 1
    assert "2: Duplicate(RequestVote 1->2" in source
    assert source.count("in flight") >= 2


def test_chart_marks_the_violating_step():
    source = message_sequence_chart(violation_trace()).source
    assert "VIOLATES ElectionSafety" in source
    assert "ElectionSafety violated at step 2" in source


def test_text_shows_the_changes_and_marks_the_violation():
    text = show_text(violation_trace())
    assert "model (variant small_majority): ElectionSafety violated at step 2" in text
    assert "step 2: Timeout(2)   <-- ElectionSafety VIOLATED" in text
    assert "server 2: role Follower -> Leader" in text


def test_html_page_is_self_contained_and_carries_the_steps():
    page = render_html(violation_trace())
    assert "http://" not in page and "https://" not in page
    assert "<script src" not in page and "<link" not in page
    start = page.index('id="trace-data">') + len('id="trace-data">')
    data = json.loads(page[start : page.index("</script>", start)])
    assert [s["action"] for s in data["steps"]] == ["init", "Timeout(1)", "Timeout(2)"]
    assert data["violation_step"] == 2
    assert data["property"]["name"] == "ElectionSafety"
    assert "does not hold in the state reached by step 2" in data["property"]["explanation"]


def test_html_escapes_a_closing_script_tag_in_the_data():
    trace = violation_trace()
    meta = trace.meta.__class__(**{**trace.meta.__dict__, "command": "x </script><b>"})
    page = render_html(trace.__class__(meta, trace.steps))
    assert "</script><b>" not in page


def test_state_graph_is_capped_with_a_note_and_shows_the_path():
    target = ModelTarget(variant="small_majority")
    path = walk(target, ["Timeout(1)", "Timeout(2)"])
    graph = explore_graph(target, max_states=5, path=path)
    assert graph.cut
    assert len(graph.labels) <= 5 + len(path)
    source = state_graph_dot(graph, target, path).source
    assert "cut at 5 states" in source
    assert source.count("#c62828") >= 2 * 2  # both path edges in red


def test_state_graph_of_a_tiny_space_is_complete():
    target = ModelTarget(nodes=1, spares=0, max_term=2, max_log=1)
    graph = explore_graph(target, max_states=100)
    assert not graph.cut
    assert "cut at" not in state_graph_dot(graph, target).source
