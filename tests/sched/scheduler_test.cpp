// tests/sched/scheduler_test.cpp: rank 0's decisions without MPI, from plain sequences of events: first chunks,
// grants, steals (from workers and from rank 0's own chunk), parked thieves, hold-back with known costs, pauses,
// signals, the time limit, retries and skips, aborts, silent workers, items given back by a rank stuck in long
// items, the end of a phase; and a randomised world of ranks in which every item is done exactly once whatever the
// order of events.
#include "sched/scheduler.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <vector>

namespace {

using namespace pel::sched;
using pel::ItemRange;

/// Rank 0's team as the scheduler sees it: a current chunk and a cursor.
struct FakeOwn final : OwnTeam {
    ItemRange chunk;
    std::uint64_t next = 0;
    std::uint64_t done_unreported = 0;
    std::uint64_t unclaimed() override { return chunk.end > next ? chunk.end - next : 0; }
    ItemRange split() override {
        const std::uint64_t left = unclaimed();
        if (left < 2) return {};
        const ItemRange given{next + (left + 1) / 2, chunk.end};
        chunk.end = given.begin;
        return given;
    }
    [[nodiscard]] std::uint64_t unreported() const override { return done_unreported; }
    void take(ItemRange c) {
        chunk = c;
        next = c.begin;
    }
};

SchedulerSettings settings(Technique t = Technique::ss, std::uint64_t chunk = 1) {
    SchedulerSettings s;
    s.schedule = {t, chunk};
    return s;
}

std::vector<Action> take(Scheduler& s) {
    std::vector<Action> a;
    s.take_actions(a);
    return a;
}

/// The single action of `actions` of type A (fails the test otherwise).
template <class A>
A only(const std::vector<Action>& actions) {
    REQUIRE(actions.size() == 1);
    REQUIRE(std::holds_alternative<A>(actions[0]));
    return std::get<A>(actions[0]);
}

/// The grant sent to `to` by a Reply action.
Grant grant_of(const Action& action, int to) {
    REQUIRE(std::holds_alternative<Reply>(action));
    const Reply& reply = std::get<Reply>(action);
    REQUIRE(reply.to == to);
    REQUIRE(std::holds_alternative<Grant>(reply.answer));
    return std::get<Grant>(reply.answer);
}

template <class T>
bool replied(const Action& action, int to) {
    const auto* reply = std::get_if<Reply>(&action);
    return reply != nullptr && reply->to == to && std::holds_alternative<T>(reply->answer);
}

}  // namespace

TEST_CASE("the phase starts with rank 0's chunk, then one for every worker in rank order", "[sched]") {
    FakeOwn own;
    Scheduler s(settings(Technique::ss, 10), 100, 4, {{0, 100}}, own);
    s.start(0.0);
    const auto a = take(s);
    REQUIRE(a.size() == 4);
    REQUIRE(std::holds_alternative<OwnGrant>(a[0]));
    CHECK(std::get<OwnGrant>(a[0]).chunk == ItemRange{0, 10});
    for (int r = 1; r < 4; ++r) {
        const Grant g = grant_of(a[static_cast<std::size_t>(r)], r);
        CHECK(g.items == ItemRange{10u * static_cast<std::uint64_t>(r), 10u * static_cast<std::uint64_t>(r) + 10});
        CHECK(g.origin == Origin::fresh);
    }
}

TEST_CASE("work requests are granted until none is left; goodbyes are acknowledged and end the phase", "[sched]") {
    FakeOwn own;
    Scheduler s(settings(Technique::ss, 5), 10, 2, {{0, 10}}, own);
    s.start(0.0);
    const auto first = take(s);
    own.take(*std::get<OwnGrant>(first[0]).chunk);  // [0, 5)
    CHECK(grant_of(first[1], 1).items == ItemRange{5, 10});
    // Worker 1 finishes its chunk and asks again: nothing left to grant; rank 0's chunk is not started, so the
    // worker steals half of it.
    s.receive(1, WorkRequest{{5, 0.5}, false}, 1.0);
    auto a = take(s);
    REQUIRE(a.size() == 2);
    REQUIRE(std::holds_alternative<Stolen>(a[0]));
    CHECK(std::get<Stolen>(a[0]).victim == 0);
    const Grant stolen = grant_of(a[1], 1);
    CHECK(stolen.items == ItemRange{3, 5});
    CHECK(stolen.origin == Origin::stolen);
    CHECK(s.steals() == 1);
    CHECK(own.chunk == ItemRange{0, 3});
    // Rank 0 claims and finishes the rest; worker 1 finishes and asks again: nothing left anywhere.
    own.next = 3;
    s.own_report({3, 0.3});
    s.receive(1, WorkRequest{{2, 0.2}, false}, 2.0);
    CHECK(replied<PhaseOver>(only<Reply>(take(s)), 1));
    CHECK_FALSE(s.all_acknowledged());
    s.receive(1, Goodbye{{0, 0}, false}, 2.1);
    const Reply ack = only<Reply>(take(s));
    REQUIRE(std::holds_alternative<GoodbyeAck>(ack.answer));
    CHECK_FALSE(std::get<GoodbyeAck>(ack.answer).pause_notice_sent);
    CHECK(s.all_acknowledged());
    s.own_request({0, 0}, 2.2);
    CHECK_FALSE(only<OwnGrant>(take(s)).chunk.has_value());
    CHECK(s.items_reported() == 10);
}

TEST_CASE("an idle worker steals from the worker with the most unfinished items", "[sched]") {
    FakeOwn own;
    Scheduler s(settings(Technique::ss, 10), 30, 3, {{0, 30}}, own);
    s.start(0.0);
    own.take(*std::get<OwnGrant>(take(s)[0]).chunk);
    // Rank 0 finishes its chunk; worker 2 has done 4 of its 10, worker 1 none.
    own.next = 10;
    s.receive(2, Update{{4, 0.4}}, 1.0);
    CHECK(take(s).empty());
    s.own_request({10, 1.0}, 1.0);
    auto a = take(s);
    const Order order = only<Order>(a);
    CHECK(order.to == 1);  // 10 unfinished against worker 2's 6
    REQUIRE(std::holds_alternative<StealRequest>(order.control));
    CHECK(std::get<StealRequest>(order.control).thief == 0);
    // The victim gives up the back half: rank 0's team gets it.
    s.receive(1, ItemsGiven{{15, 20}}, 1.1);
    a = take(s);
    REQUIRE(a.size() == 2);
    CHECK(std::get<Stolen>(a[0]).items == ItemRange{15, 20});
    CHECK(std::get<OwnGrant>(a[1]).chunk == ItemRange{15, 20});
    // A victim with nothing to give is skipped until it sends news: the next thief goes to worker 2.
    s.receive(2, WorkRequest{{6, 0.6}, false}, 1.2);  // worker 2 done with its chunk; rank 1 has 5 left
    CHECK(std::get<StealRequest>(only<Order>(take(s)).control).thief == 2);
    s.receive(1, ItemsGiven{}, 1.3);  // it had claimed them all meanwhile
    a = take(s);
    // Nobody else has two items left to give (rank 0 holds its 5 in hand, unclaimed 0): worker 2 waits for news.
    CHECK(a.empty());
    s.receive(1, WorkRequest{{5, 0.5}, false}, 1.4);  // worker 1 done: no work left anywhere but rank 0's in hand
    a = take(s);
    CHECK(a.empty());              // both wait: rank 0 still has unfinished items, which may come back
    s.own_request({5, 0.5}, 1.5);  // rank 0 done too: everyone is told the phase is over
    a = take(s);
    REQUIRE(a.size() == 3);
    CHECK_FALSE(std::get<OwnGrant>(a[0]).chunk.has_value());
    CHECK(replied<PhaseOver>(a[1], 2));  // parked first
    CHECK(replied<PhaseOver>(a[2], 1));
}

TEST_CASE("a goodbye waits for the answers to the steal requests sent to that worker", "[sched]") {
    FakeOwn own;
    Scheduler s(settings(Technique::static_block), 20, 2, {{0, 20}}, own);
    s.start(0.0);
    own.take(*std::get<OwnGrant>(take(s)[0]).chunk);
    own.next = 10;
    s.own_request({10, 1.0}, 1.0);  // rank 0 done: it asks worker 1 for work
    CHECK(only<Order>(take(s)).to == 1);
    s.receive(1, Goodbye{{10, 1.0}, false}, 1.1);  // crossed the steal request
    CHECK(take(s).empty());                        // no ack before the steal is answered
    s.receive(1, ItemsGiven{}, 1.2);
    const auto a = take(s);
    REQUIRE(a.size() == 2);
    CHECK_FALSE(std::get<OwnGrant>(a[0]).chunk.has_value());
    CHECK(replied<GoodbyeAck>(a[1], 1));
    CHECK(s.all_acknowledged());
}

namespace {

/// gss on 2 ranks over 100 items whose item 0 costs 10 s and the others 0.1 s, known: item 0 goes first, alone, to
/// rank 0; worker 1 gets the next chunk. Started.
std::unique_ptr<Scheduler> heavy_first(FakeOwn& own) {
    std::vector<double> bins(100, 0.1);
    bins[0] = 10;
    auto s = std::make_unique<Scheduler>(settings(Technique::gss), 100, 2, std::vector<ItemRange>{{0, 100}}, own);
    s->use_profile(CostProfile(100, bins));
    s->start(0.0);
    return s;
}

}  // namespace

TEST_CASE("with known costs, a request sent ahead is held back while the rank has long work in hand", "[sched]") {
    FakeOwn own;
    auto scheduler = heavy_first(own);
    Scheduler& s = *scheduler;
    auto a = take(s);
    own.take(*std::get<OwnGrant>(a[0]).chunk);
    CHECK(own.chunk == ItemRange{0, 1});
    const Grant first = grant_of(a[1], 1);
    // Worker 1 asks ahead at once, with all of its first chunk in hand: worth more than half an even share of the
    // rest, so the request waits.
    s.receive(1, WorkRequest{{0, 0}, true}, 0.01);
    CHECK(take(s).empty());
    // Once it reports having done nearly all of it, the held request is answered, marked as held.
    s.receive(1, Update{{first.items.size() - 1, 0.1 * static_cast<double>(first.items.size() - 1)}}, 1.0);
    a = take(s);
    REQUIRE(a.size() == 1);
    CHECK(grant_of(a[0], 1).origin == Origin::held);
}

TEST_CASE("a request sent with nothing in hand releases the oldest held back before it", "[sched]") {
    FakeOwn own;
    auto scheduler = heavy_first(own);
    Scheduler& s = *scheduler;
    take(s);
    s.receive(1, WorkRequest{{0, 0}, true}, 0.01);
    CHECK(take(s).empty());
    // Out of work after all: the oldest request is answered at once; the newer one waits again, since the rank
    // now has the chunk just granted in hand.
    s.receive(1, WorkRequest{{0, 0}, false}, 0.02);
    CHECK(grant_of(only<Reply>(take(s)), 1).origin == Origin::held);
}

TEST_CASE("a due checkpoint pauses the phase: workers are told, requests end, the ack says a notice went", "[sched]") {
    FakeOwn own;
    SchedulerSettings set = settings(Technique::ss, 1);
    set.pause_at = 5.0;
    Scheduler s(set, 100, 3, {{0, 100}}, own);
    s.start(0.0);
    take(s);
    s.tick(4.9, 0);
    CHECK(take(s).empty());
    s.receive(2, Goodbye{{1, 0.1}, false}, 4.95);  // worker 2 leaves before the pause
    take(s);
    s.tick(5.0, 0);
    auto a = take(s);
    REQUIRE(a.size() == 2);
    CHECK(std::get<Pausing>(a[0]).reason == PauseReason::checkpoint);
    CHECK(std::get<Order>(a[1]).to == 1);  // not worker 2, which said goodbye
    CHECK(std::holds_alternative<PauseNotice>(std::get<Order>(a[1]).control));
    CHECK(s.pausing());
    s.receive(1, WorkRequest{{1, 0.1}, true}, 5.1);
    CHECK(replied<PhaseOver>(only<Reply>(take(s)), 1));
    s.own_request({}, 5.2);
    CHECK_FALSE(only<OwnGrant>(take(s)).chunk.has_value());
    s.receive(1, Goodbye{}, 5.3);
    const Reply ack = only<Reply>(take(s));
    CHECK(std::get<GoodbyeAck>(ack.answer).pause_notice_sent);
    s.tick(6.0, 0);  // pauses once
    CHECK(take(s).empty());
}

TEST_CASE("a periodic checkpoint waits for the round's first finished item; a signal does not", "[sched]") {
    // --checkpoint-every shorter than a checkpoint: the next one is due before the round starts. It must still move
    // the run forward, not checkpoint again and again with no item done.
    FakeOwn own;
    SchedulerSettings set = settings(Technique::ss, 1);
    set.pause_at = 0.0;
    Scheduler s(set, 100, 2, {{0, 100}}, own);
    s.start(0.0);
    take(s);
    s.tick(1.0, 0);
    CHECK_FALSE(s.pausing());
    own.done_unreported = 1;  // rank 0's team has finished an item
    s.tick(1.1, 0);
    CHECK(s.pausing());

    FakeOwn idle;
    Scheduler signalled(set, 100, 2, {{0, 100}}, idle);
    signalled.start(0.0);
    take(signalled);
    signalled.tick(1.0, 10);
    CHECK(signalled.pausing());
}

TEST_CASE("a worker's stop signal, or rank 0's, pauses the phase", "[sched]") {
    FakeOwn own;
    {
        Scheduler s(settings(), 10, 2, {{0, 10}}, own);
        s.start(0.0);
        take(s);
        s.receive(1, StopSignal{}, 0.5);
        const auto a = take(s);
        REQUIRE(a.size() == 2);
        CHECK(std::get<Pausing>(a[0]).reason == PauseReason::signal);
    }
    {
        Scheduler s(settings(), 10, 2, {{0, 10}}, own);
        s.start(0.0);
        take(s);
        s.tick(0.5, 10);
        CHECK(std::get<Pausing>(take(s)[0]).reason == PauseReason::signal);
    }
}

TEST_CASE("no chunk is granted that would end past the time limit", "[sched]") {
    FakeOwn own;
    SchedulerSettings set = settings(Technique::ss, 10);
    set.stop_at = 10.0;
    Scheduler s(set, 100, 2, {{0, 100}}, own);
    s.start(0.0);
    take(s);
    // 1 s per item measured: a chunk of 10 asked at 0.5 s would end at 10.5 s.
    s.receive(1, WorkRequest{{10, 10.0}, false}, 0.5);
    auto a = take(s);
    REQUIRE(a.size() >= 3);
    CHECK(std::holds_alternative<TimeLimitReached>(a[0]));
    CHECK(std::get<Pausing>(a[1]).reason == PauseReason::time_limit);
    CHECK(replied<PhaseOver>(a.back(), 1));
    s.tick(11.0, 0);  // issued once
    CHECK(take(s).empty());
}

TEST_CASE("the time limit itself pauses the phase even with nothing asked", "[sched]") {
    FakeOwn own;
    SchedulerSettings set = settings();
    set.stop_at = 2.0;
    Scheduler s(set, 100, 2, {{0, 100}}, own);
    s.start(0.0);
    take(s);
    s.tick(2.0, 0);
    const auto a = take(s);
    REQUIRE(a.size() == 3);
    CHECK(std::holds_alternative<TimeLimitReached>(a[0]));
    CHECK(std::get<Pausing>(a[1]).reason == PauseReason::time_limit);
}

TEST_CASE("failed items run again one by one elsewhere, then end the run or are skipped", "[sched]") {
    FakeOwn own;
    SchedulerSettings set = settings(Technique::ss, 3);
    set.max_retries = 1;
    set.steal = false;
    Scheduler s(set, 6, 2, {{0, 6}}, own);
    s.start(0.0);
    take(s);  // rank 0 [0,3), worker 1 [3,6)
    s.receive(1, ItemsFailed{{3, 6}}, 0.1);
    CHECK(take(s).empty());
    // Worker 1 asks: the retries are not for it while another rank is in the phase; it waits for news.
    s.receive(1, WorkRequest{{0, 0}, false}, 0.2);
    CHECK(take(s).empty());
    // Rank 0 asks: it gets item 3 alone.
    s.own_request({3, 0.3}, 0.3);
    CHECK(only<OwnGrant>(take(s)).chunk == ItemRange{3, 4});
    // Item 3 fails alone on rank 0: one retry left; it goes to the waiting worker, not back to rank 0.
    s.own_failed({3, 4});
    CHECK(grant_of(only<Reply>(take(s)), 1).items == ItemRange{3, 4});
    // It fails again there: no retries left, skipping off: the run ends.
    s.receive(1, ItemsFailed{{3, 4}}, 0.4);
    auto a = take(s);
    REQUIRE_FALSE(a.empty());
    const ItemGaveUp gave_up = std::get<ItemGaveUp>(a[0]);
    CHECK(gave_up.item == 3);
    CHECK(gave_up.failures == 2);
    CHECK(gave_up.rank == 1);
    CHECK(s.aborted());
    s.receive(1, WorkRequest{{0, 0}, false}, 0.5);
    CHECK(replied<Abort>(only<Reply>(take(s)), 1));
}

TEST_CASE("with skipping on, an item out of retries is listed and the phase goes on", "[sched]") {
    FakeOwn own;
    SchedulerSettings set = settings(Technique::ss, 1);
    set.skip_failed = true;
    Scheduler s(set, 4, 2, {{0, 4}}, own);
    s.start(0.0);
    take(s);
    s.receive(1, ItemsFailed{{1, 2}}, 0.1);
    const auto a = take(s);
    for (const Action& x : a) CHECK_FALSE(std::holds_alternative<ItemGaveUp>(x));
    REQUIRE(s.skipped().size() == 1);
    CHECK(s.skipped()[0].item == 1);
    CHECK(s.skipped()[0].rank == 1);
    CHECK_FALSE(s.aborted());
}

TEST_CASE("a failed goodbye aborts: every further request, parked thieves included, gets Abort", "[sched]") {
    FakeOwn own;
    Scheduler s(settings(Technique::static_block), 30, 3, {{0, 30}}, own);
    s.start(0.0);
    own.take(*std::get<OwnGrant>(take(s)[0]).chunk);
    s.receive(2, Goodbye{{0, 0}, true}, 0.1);
    CHECK(s.aborted());
    CHECK(replied<GoodbyeAck>(only<Reply>(take(s)), 2));
    s.receive(1, WorkRequest{{10, 1}, false}, 0.2);
    CHECK(replied<Abort>(only<Reply>(take(s)), 1));
    s.own_request({}, 0.3);
    CHECK_FALSE(only<OwnGrant>(take(s)).chunk.has_value());
}

TEST_CASE("a worker silent past the heartbeat timeout is named", "[sched]") {
    FakeOwn own;
    SchedulerSettings set = settings();
    set.heartbeat_s = 10;
    Scheduler s(set, 100, 3, {{0, 100}}, own);
    s.start(0.0);
    take(s);
    s.receive(1, Heartbeat{{0, 0}}, 8.0);
    s.tick(9.0, 0);
    CHECK(take(s).empty());
    s.tick(10.5, 0);
    const Silent silent = only<Silent>(take(s));
    CHECK(silent.rank == 2);
    CHECK(silent.silent_s == Approx(10.5));
}

TEST_CASE("a message on the wrong channel or of an unknown kind is refused, never misread", "[sched]") {
    CHECK_THROWS_AS(decode_answer(encode(ToRoot{WorkRequest{{1, 1}, true}})), pel::Error);
    CHECK_THROWS_AS(decode_control(encode(Answer{PhaseOver{}})), pel::Error);
    CHECK_THROWS_AS(decode_to_root(Envelope{999, 0, 0, 0}), pel::Error);
    const Envelope grant = encode(Answer{Grant{{3, 9}, Origin::held}});
    const auto back = std::get<Grant>(decode_answer(grant));
    CHECK(back.items == ItemRange{3, 9});
    CHECK(back.origin == Origin::held);
    const auto request = std::get<WorkRequest>(decode_to_root(encode(ToRoot{WorkRequest{{7, 0.25}, true}})));
    CHECK(request.done.items == 7);
    CHECK(request.done.busy_s == 0.25);
    CHECK(request.ahead);
    CHECK(std::get<GoodbyeAck>(decode_answer(encode(Answer{GoodbyeAck{true}}))).pause_notice_sent);
    CHECK(std::get<StealRequest>(decode_control(encode(Control{StealRequest{42}}))).thief == 42);
    CHECK(std::get<ItemsGiven>(decode_to_root(encode(ToRoot{ItemsGiven{{5, 6}}}))).items == ItemRange{5, 6});
    CHECK(std::get<ItemsReturned>(decode_to_root(encode(ToRoot{ItemsReturned{{7, 9}}}))).items == ItemRange{7, 9});
}

TEST_CASE("items a stuck rank gives back go to the next rank that asks, before the dispenser's", "[sched]") {
    FakeOwn own;
    Scheduler s(settings(Technique::ss, 10), 60, 3, {{0, 60}}, own);
    s.start(0.0);
    own.take(*std::get<OwnGrant>(take(s)[0]).chunk);  // [0, 10); workers 1 and 2: [10, 20) and [20, 30)
    s.receive(1, WorkRequest{{0, 0}, true}, 0.1);     // worker 1 asks ahead as it starts item 10
    CHECK(grant_of(only<Reply>(take(s)), 1).items == ItemRange{30, 40});
    // Item 10 turns out long: worker 1 gives back its chunk granted ahead and the unclaimed rest of its current one.
    s.receive(1, ItemsReturned{{30, 40}}, 0.5);
    CHECK(only<Returned>(take(s)).items == ItemRange{30, 40});
    s.receive(1, ItemsReturned{{11, 20}}, 0.5);
    CHECK(only<Returned>(take(s)).rank == 1);
    CHECK(s.returns() == 2);
    // The next requests get them, oldest first, ahead of [40, 60) that the dispenser still has, in pieces of half an
    // even share of what is left to grant: 39 items over 3 ranks, 7 first.
    s.receive(2, WorkRequest{{10, 1.0}, true}, 0.6);
    CHECK(grant_of(only<Reply>(take(s)), 2).items == ItemRange{30, 37});
    own.next = 10;
    s.own_request({10, 1.0}, 0.7);
    CHECK(only<OwnGrant>(take(s)).chunk == ItemRange{37, 40});
    std::uint64_t next = 11;
    for (int r = 2; next < 20; r = 3 - r) {  // workers 1 and 2 in turn, each with nothing else in hand
        s.receive(r, WorkRequest{{0, 0}, false}, 0.8);
        const ItemRange piece = grant_of(only<Reply>(take(s)), r).items;
        CHECK(piece.begin == next);
        CHECK_FALSE(piece.empty());
        next = piece.end;
    }
    CHECK(next == 20);
    s.receive(1, WorkRequest{{1, 5.0}, false}, 5.0);
    CHECK(grant_of(only<Reply>(take(s)), 1).items == ItemRange{40, 50});
}

TEST_CASE("while items given back wait, a request sent ahead with a chunk in hand is held back", "[sched]") {
    FakeOwn own;
    Scheduler s(settings(Technique::ss, 10), 60, 3, {{0, 60}}, own);
    s.start(0.0);
    own.take(*std::get<OwnGrant>(take(s)[0]).chunk);
    s.receive(1, ItemsReturned{{11, 20}}, 0.5);  // worker 1 is stuck in item 10
    take(s);
    // Worker 2 asks ahead as it starts its chunk of 10: the items given back would wait behind it.
    s.receive(2, WorkRequest{{0, 0}, true}, 0.6);
    CHECK(take(s).empty());
    // Rank 0, idle, gets a piece at once; worker 2, once it reports all but two items done, gets the next.
    own.next = 10;
    s.own_request({10, 1.0}, 0.7);
    CHECK(only<OwnGrant>(take(s)).chunk == ItemRange{11, 18});  // 39 left to grant over 3 ranks: 7
    s.receive(2, Update{{8, 0.8}}, 0.8);
    const Grant held = grant_of(only<Reply>(take(s)), 2);
    CHECK(held.items == ItemRange{18, 20});
    CHECK(held.origin == Origin::held);
}

TEST_CASE("a thief gets items given back once its steal finds nothing; none are given in a pause", "[sched]") {
    FakeOwn own;
    Scheduler s(settings(Technique::ss, 10), 30, 3, {{0, 30}}, own);
    s.start(0.0);
    own.take(*std::get<OwnGrant>(take(s)[0]).chunk);
    own.next = 10;  // rank 0 has done its chunk: nothing left to grant, worker 2 has one item left, in progress
    s.receive(2, Update{{9, 0.9}}, 0.9);
    s.own_request({10, 1.0}, 1.0);
    CHECK(only<Order>(take(s)).to == 1);  // worker 1 has the most: 10 items, the first in progress
    // Worker 1, long in item 10, gives back the rest of its chunk; the steal request crossed that and finds nothing.
    s.receive(1, ItemsReturned{{11, 20}}, 1.1);
    CHECK(only<Returned>(take(s)).items == ItemRange{11, 20});
    s.receive(1, ItemsGiven{}, 1.2);
    CHECK(only<OwnGrant>(take(s)).chunk == ItemRange{11, 13});  // 9 items left over 3 ranks: 2
    s.receive(2, WorkRequest{{1, 0.1}, false}, 1.3);
    CHECK(grant_of(only<Reply>(take(s)), 2).items == ItemRange{13, 15});

    FakeOwn own2;
    Scheduler p(settings(Technique::ss, 10), 30, 2, {{0, 30}}, own2);
    p.start(0.0);
    own2.take(*std::get<OwnGrant>(take(p)[0]).chunk);
    p.tick(1.0, 15);  // a stop signal: the phase pauses
    take(p);
    p.receive(1, ItemsReturned{{12, 20}}, 1.1);
    CHECK(take(p).empty());  // left undone: the checkpoint has them to do
    CHECK(p.returns() == 0);
}

namespace {

/// A world of ranks driven by random events: every worker computes its chunks one item at a time, asks ahead,
/// answers steals at random moments, now and then gives back what it has not started (as a rank stuck in a long item
/// does, with none of its requests unanswered), and messages travel with random delays (in order per channel).
/// Checks that every item is granted and done exactly once and that the phase ends with every goodbye acknowledged.
class World {
  public:
    World(Technique technique, int ranks, std::uint64_t items, std::uint64_t seed, bool profile, double pause_at)
        : ranks_(ranks), items_(items), gen_(seed), done_(items, 0), workers_(static_cast<std::size_t>(ranks)) {
        SchedulerSettings set;
        set.schedule = {technique, 1};
        set.pause_at = pause_at;
        scheduler_ = std::make_unique<Scheduler>(set, items, ranks, std::vector<ItemRange>{{0, items}}, own_);
        if (profile) {
            std::vector<double> bins(items);
            for (std::uint64_t i = 0; i < items; ++i) bins[i] = 1.0 + static_cast<double>((i * 7919) % 13);
            scheduler_->use_profile(CostProfile(items, bins));
        }
    }

    void run() {
        own_waiting_ = true;  // the first chunk, if any, comes to rank 0's team unasked
        scheduler_->start(now_);
        drain();
        own_waiting_ = false;
        // Every worker's first answer comes unasked: it waits for it as for a request's (WorkerLink::begin).
        for (int r = 1; r < ranks_; ++r) workers_[static_cast<std::size_t>(r)].asked = 1;
        for (int step = 0; step < 200000 && !finished(); ++step) {
            now_ += 0.001;
            std::uniform_int_distribution<int> pick(0, ranks_ + 2);
            const int who = pick(gen_);
            if (who == 0) {
                own_step();
            } else if (who < ranks_) {
                worker_step(who);
            } else if (who == ranks_) {
                deliver_to_root();
            } else {
                deliver_to_worker();
            }
            if (step % 50 == 0) {
                scheduler_->tick(now_, 0);
                scheduler_->recheck();
                drain();
            }
        }
        if (!finished()) {
            for (int r = 1; r < ranks_; ++r) {
                const Worker& w = workers_[static_cast<std::size_t>(r)];
                UNSCOPED_INFO("worker " << r << " asked " << w.asked << " ready " << w.ready.size() << " current "
                                        << w.current.begin << ".." << w.current.end << " final " << w.final << " bye "
                                        << w.bye << " acked " << w.acked << " answers " << w.answers.size()
                                        << " controls " << w.controls.size());
            }
            UNSCOPED_INFO("own waiting " << own_waiting_ << " finished " << own_finished_ << " chunk "
                                         << own_.chunk.begin << ".." << own_.chunk.end << " next " << own_.next
                                         << " to_root " << to_root_.size());
        }
        REQUIRE(finished());
    }

    [[nodiscard]] bool all_done_once() const {
        if (paused_) return std::all_of(done_.begin(), done_.end(), [](int d) { return d <= 1; });
        return std::all_of(done_.begin(), done_.end(), [](int d) { return d == 1; });
    }
    [[nodiscard]] std::uint64_t steals() const { return scheduler_->steals(); }
    [[nodiscard]] std::uint64_t returns() const { return scheduler_->returns(); }
    bool paused_ = false;
    int held = 0;         ///< grants of requests held back
    int idle_splits = 0;  ///< steals answered by a waiting worker with half of a grant it just took in

  private:
    struct Worker {
        std::deque<ItemRange> ready;   // granted, not started
        ItemRange current;             // being computed, front first
        std::deque<Answer> answers;    // in flight from rank 0
        std::deque<Control> controls;  // in flight from rank 0
        int asked = 0;                 // requests whose answer has not come
        std::uint64_t unreported = 0;
        bool final = false;
        bool bye = false;
        bool acked = false;
        bool paused = false;
    };

    [[nodiscard]] bool finished() const {
        if (!own_finished_) return false;
        for (int r = 1; r < ranks_; ++r) {
            if (!workers_[static_cast<std::size_t>(r)].acked) return false;
        }
        return scheduler_->all_acknowledged();
    }

    void drain() {
        std::vector<Action> actions;
        scheduler_->take_actions(actions);
        for (const Action& a : actions) {
            if (const auto* reply = std::get_if<Reply>(&a)) {
                workers_[static_cast<std::size_t>(reply->to)].answers.push_back(reply->answer);
            } else if (const auto* order = std::get_if<Order>(&a)) {
                workers_[static_cast<std::size_t>(order->to)].controls.push_back(order->control);
            } else if (const auto* own = std::get_if<OwnGrant>(&a)) {
                REQUIRE(own_waiting_);
                own_waiting_ = false;
                if (own->chunk) {
                    own_.take(*own->chunk);
                } else {
                    own_finished_ = true;
                }
            } else if (std::holds_alternative<Pausing>(a)) {
                paused_ = true;
                own_paused_ = true;
            } else if (std::holds_alternative<ItemGaveUp>(a) || std::holds_alternative<Silent>(a)) {
                FAIL("unexpected action");
            }
        }
    }

    void own_step() {
        if (own_finished_ || own_waiting_) return;
        if (!own_paused_ && gen_() % 40 == 0) {  // rank 0's threads are all inside long items
            const ItemRange rest{own_.next, own_.chunk.end};
            own_.chunk.end = own_.next;
            scheduler_->own_return(rest);
            drain();
            return;
        }
        if (!own_paused_ && own_.next < own_.chunk.end) {
            ++done_[own_.next++];
            ++own_.done_unreported;
            if (gen_() % 3 == 0) {
                scheduler_->own_report({std::exchange(own_.done_unreported, 0), 0.001});
                drain();
            }
            return;
        }
        own_waiting_ = true;
        if (!initial_own_taken_) initial_own_taken_ = true;
        scheduler_->own_request({std::exchange(own_.done_unreported, 0), 0.001}, now_);
        drain();
    }

    void worker_step(int r) {
        Worker& w = workers_[static_cast<std::size_t>(r)];
        if (w.bye) return;
        if (!w.paused && !w.final && w.asked == 0 && gen_() % 40 == 0) {  // stuck in a long item: gives back
            for (const ItemRange& chunk : w.ready) to_root_.push_back({r, ItemsReturned{chunk}});
            w.ready.clear();
            if (!w.current.empty()) to_root_.push_back({r, ItemsReturned{w.current}});
            w.current = {};
            return;
        }
        if (!w.paused && !w.current.empty()) {
            ++done_[w.current.begin++];
            ++w.unreported;
            // Ask ahead while computing, up to two in flight.
            if (!w.final && w.asked + static_cast<int>(w.ready.size()) < 2 && gen_() % 2 == 0) send_request(r, true);
            return;
        }
        if (!w.paused && !w.ready.empty()) {
            w.current = w.ready.front();
            w.ready.pop_front();
            return;
        }
        if (w.asked > 0) {  // waiting: it tells rank 0 what it finished, as WorkerLink does
            if (w.unreported > 0) to_root_.push_back({r, Update{{std::exchange(w.unreported, 0), 0.001}}});
            return;
        }
        if (w.final || w.paused) {
            to_root_.push_back({r, Goodbye{{std::exchange(w.unreported, 0), 0.001}, false}});
            w.bye = true;
            return;
        }
        send_request(r, false);
    }

    void send_request(int r, bool ahead) {
        Worker& w = workers_[static_cast<std::size_t>(r)];
        ++w.asked;
        to_root_.push_back({r, WorkRequest{{std::exchange(w.unreported, 0), 0.001}, ahead}});
    }

    void deliver_to_root() {
        if (to_root_.empty()) return;
        // Any worker's oldest message: order holds per worker, not across workers.
        std::uniform_int_distribution<std::size_t> pick(0, to_root_.size() - 1);
        const int from = to_root_[pick(gen_)].first;
        const auto it = std::find_if(to_root_.begin(), to_root_.end(), [&](const auto& m) { return m.first == from; });
        const ToRoot message = it->second;
        to_root_.erase(it);
        scheduler_->receive(from, message, now_);
        drain();
    }

    void deliver_to_worker() {
        std::uniform_int_distribution<int> pick(1, ranks_ - 1);
        const int r = pick(gen_);
        Worker& w = workers_[static_cast<std::size_t>(r)];
        if (!w.controls.empty() && (w.answers.empty() || gen_() % 2 == 0)) {
            const Control c = w.controls.front();
            w.controls.pop_front();
            if (std::holds_alternative<PauseNotice>(c)) {
                w.paused = true;
                w.ready.clear();
                return;
            }
            REQUIRE_FALSE(w.acked);  // no steal request comes after the goodbye was answered
            // A worker waiting for work takes in the answers that have come before it answers, and keeps the front
            // half of a single grant, which it starts next even if a PhaseOver came behind it (WorkerLink).
            const bool idle = !w.bye && w.current.empty() && w.ready.empty();
            while (idle && !w.answers.empty() && gen_() % 2 == 0) take_answer(w);
            ItemRange given;
            if (w.ready.size() > (idle ? 1U : 0U)) {
                given = w.ready.back();
                w.ready.pop_back();
            } else if (idle && !w.ready.empty() && w.ready.front().size() >= 2) {
                ItemRange& kept = w.ready.front();
                given = {kept.begin + (kept.size() + 1) / 2, kept.end};
                kept.end = given.begin;
                ++idle_splits;
            } else if (w.current.size() >= 2) {
                given = {w.current.begin + (w.current.size() + 1) / 2, w.current.end};
                w.current.end = given.begin;
            }
            to_root_.push_back({r, ItemsGiven{given}});
            return;
        }
        if (!w.answers.empty()) take_answer(w);
    }

    void take_answer(Worker& w) {
        const Answer a = w.answers.front();
        w.answers.pop_front();
        if (const auto* g = std::get_if<Grant>(&a)) {
            held += g->origin == Origin::held ? 1 : 0;
            --w.asked;
            if (!w.paused) w.ready.push_back(g->items);
        } else if (std::holds_alternative<GoodbyeAck>(a)) {
            REQUIRE(w.bye);
            w.acked = true;
        } else {
            --w.asked;
            w.final = true;
        }
    }

    int ranks_;
    std::uint64_t items_;
    std::mt19937_64 gen_;
    std::vector<int> done_;
    std::vector<Worker> workers_;
    std::deque<std::pair<int, ToRoot>> to_root_;
    FakeOwn own_;
    std::unique_ptr<Scheduler> scheduler_;
    bool own_waiting_ = false;
    bool own_finished_ = false;
    bool own_paused_ = false;
    bool initial_own_taken_ = false;
    double now_ = 0;
};

}  // namespace

TEST_CASE("in a random world of ranks, every item is done exactly once and every goodbye is answered", "[sched]") {
    std::uint64_t steals = 0;
    std::uint64_t returns = 0;
    int held = 0;
    int idle_splits = 0;
    for (const Technique t :
         {Technique::ss, Technique::gss, Technique::fac2, Technique::awf, Technique::static_block}) {
        for (const bool profile : {false, true}) {
            for (std::uint64_t seed = 1; seed <= 6; ++seed) {
                INFO("technique " << technique_name(t) << ", profile " << profile << ", seed " << seed);
                World world(t, 5, 300, seed, profile, std::numeric_limits<double>::infinity());
                world.run();
                CHECK(world.all_done_once());
                steals += world.steals();
                returns += world.returns();
                held += world.held;
                idle_splits += world.idle_splits;
            }
        }
    }
    CHECK(steals > 0);  // the worlds did exercise stealing, giving back and holding back
    CHECK(returns > 0);
    CHECK(held > 0);
    CHECK(idle_splits > 0);
}

TEST_CASE("in a random world paused mid-phase, no item is done twice and the phase still ends", "[sched]") {
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
        INFO("seed " << seed);
        World world(Technique::fac2, 4, 500, seed, seed % 2 == 0, 0.05);
        world.run();
        CHECK(world.paused_);
        CHECK(world.all_done_once());
    }
}
