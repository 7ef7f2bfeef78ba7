// Requests with a Request::prepare step: the engine owns their queueing, preparation and
// deadlines. A queued request is not prepared until fewer than max_running requests hold
// prepared inputs; whatever prepare throws completes that request only.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "core/error.h"
#include "engine_test_util.h"

using namespace loupe;
using namespace loupe::engine::testing;

namespace {

// Counts how many requests hold prepared inputs at once (prepared and not yet completed).
struct PrepareProbe {
  std::atomic<int> held{0}, most_held{0}, prepared{0};

  Request deferred(const Case& c, int32_t max_new) {
    Request r = make_request(c, max_new);
    Request lazy;
    lazy.sampling = r.sampling;
    lazy.prepare = [this, ids = std::move(r.token_ids), visuals = std::move(r.visuals)](Request& out) {
      out.token_ids = ids;
      out.visuals = visuals;
      ++prepared;
      const int now = ++held;
      int seen = most_held.load();
      while (now > seen && !most_held.compare_exchange_weak(seen, now)) {
      }
    };
    lazy.on_complete = [this](const Result& result) {
      if (result.prompt_tokens > 0) --held;  // prompt_tokens is set once prepared
    };
    return lazy;
  }
};

}  // namespace

TEST(DeferredPrepare, PreparesOnlyWhatABatchCanRunAndMatchesEagerRequests) {
  const Case c = toy_image_case(toy_text(4, 3), toy_image(4, 4, 1.0f), toy_text(6, 4));
  auto eager_engine = toy_engine(toy_options());
  const Result eager = eager_engine->submit(make_request(c, 12)).wait();
  ASSERT_TRUE(eager.ok()) << eager.error;

  EngineOptions o = toy_options();
  o.max_running = 2;
  o.prepare_threads = 3;
  auto engine = slow_toy_engine(o, 2000);
  PrepareProbe probe;
  std::vector<RequestHandle> handles;
  for (int i = 0; i < 8; ++i) handles.push_back(engine->submit(probe.deferred(c, 12)));
  EXPECT_GE(engine->stats().waiting, 6) << "the burst waits unprepared";
  for (auto& h : handles) {
    const Result r = h.wait();
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.token_ids, eager.token_ids);
    EXPECT_EQ(r.prompt_tokens, eager.prompt_tokens);
  }
  EXPECT_EQ(probe.prepared.load(), 8);
  EXPECT_LE(probe.most_held.load(), o.max_running) << "never more prepared inputs than one batch";
  EXPECT_TRUE(idle_without_leaks(*engine));
}

TEST(DeferredPrepare, AFailedPrepareFailsOnlyItsRequestWithItsKind) {
  auto engine = toy_engine(toy_options());
  const Case c{toy_text(5, 1), {}};
  Request bad;
  bad.prepare = [](Request&) { LOUPE_FAIL(BadImage, "not an image"); };
  Request invalid;  // prepared into something the engine refuses
  invalid.prepare = [](Request& r) { r.token_ids = {}; };
  Request thrower;
  thrower.prepare = [](Request&) { throw std::runtime_error("boom"); };
  RequestHandle good = engine->submit(make_request(c, 4));
  RequestHandle h_bad = engine->submit(std::move(bad));  // no throw: the failure is the request's
  RequestHandle h_invalid = engine->submit(std::move(invalid));
  RequestHandle h_thrower = engine->submit(std::move(thrower));
  EXPECT_TRUE(good.wait().ok());
  EXPECT_EQ(h_bad.wait().finish_reason, FinishReason::Error);
  EXPECT_EQ(h_bad.wait().error_kind, error_kind_name(ErrorKind::BadImage));
  EXPECT_NE(h_bad.wait().error.find("not an image"), std::string::npos);
  EXPECT_EQ(h_invalid.wait().error_kind, error_kind_name(ErrorKind::InvalidArgument));
  EXPECT_EQ(h_thrower.wait().error_kind, error_kind_name(ErrorKind::Internal));
  const EngineStats s = engine->stats();
  EXPECT_EQ(s.completed, 1);
  EXPECT_EQ(s.failed, 3);
  EXPECT_TRUE(idle_without_leaks(*engine));
}

TEST(DeferredPrepare, DeadlineAndCancelEndQueuedRequestsUnprepared) {
  EngineOptions o = toy_options();
  o.max_running = 1;
  auto engine = slow_toy_engine(o, 5000);
  const Case c{toy_text(4, 23), {}};
  PrepareProbe probe;
  RequestHandle busy = engine->submit(probe.deferred(c, 40));  // holds the only slot ~200 ms
  Request timed = probe.deferred(c, 4);
  timed.timeout_ms = 30;
  RequestHandle h_timed = engine->submit(std::move(timed));
  RequestHandle h_cancelled = engine->submit(probe.deferred(c, 4));
  EXPECT_TRUE(engine->cancel(h_cancelled.id()));
  const auto submitted = std::chrono::steady_clock::now();
  EXPECT_EQ(h_cancelled.wait().finish_reason, FinishReason::Cancelled);
  EXPECT_EQ(h_timed.wait().finish_reason, FinishReason::Timeout);
  EXPECT_EQ(h_timed.wait().error_kind, error_kind_name(ErrorKind::Timeout));
  EXPECT_LT(std::chrono::steady_clock::now() - submitted, std::chrono::milliseconds(150))
      << "the deadline ends a queued request while another runs";
  EXPECT_FALSE(busy.done());
  EXPECT_TRUE(busy.wait().ok());
  EXPECT_EQ(probe.prepared.load(), 1) << "neither the timed-out nor the cancelled request was prepared";
}

TEST(DeferredPrepare, QueueLimitCountsUnpreparedRequestsAndCloseCancelsThem) {
  EngineOptions o = toy_options();
  o.max_running = 1;
  o.queue_limit = 3;
  auto engine = slow_toy_engine(o, 5000);
  const Case c{toy_text(4, 23), {}};
  PrepareProbe probe;
  std::vector<RequestHandle> accepted;
  int refused = 0;
  for (int i = 0; i < 10; ++i) {
    try {
      accepted.push_back(engine->submit(probe.deferred(c, 50)));
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Overloaded);
      ++refused;
    }
  }
  EXPECT_GE(refused, 5);
  EXPECT_LE(accepted.size(), 5u);  // queue_limit waiting + at most max_running (+1 mid-prepare)
  engine->close();
  int cancelled = 0;
  for (auto& h : accepted) cancelled += h.wait().finish_reason == FinishReason::Cancelled;
  EXPECT_EQ(cancelled, int(accepted.size()));
  EXPECT_LE(probe.prepared.load(), 2);
}
