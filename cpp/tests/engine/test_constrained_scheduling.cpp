// Output constraints in the scheduler, on the deterministic toy model with a small
// hand-checkable constraint: every pick obeys the mask, the output ends with a stop token
// once the constraint is complete, masks are computed off the scheduler thread, unconstrained
// requests batched alongside keep their tokens exactly, and a failing constraint fails only
// its own request.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "engine_test_util.h"

using namespace loupe;
using namespace loupe::engine::testing;

namespace {

constexpr int32_t kStop = 96;

// Output token i must be congruent to i modulo 3 and below 90; `length` tokens make it whole.
// Optionally fails (throws) when asked for the mask of position `fail_at`.
class ModuloConstraint final : public TokenConstraint {
 public:
  explicit ModuloConstraint(int32_t length, int32_t fail_at = -1, std::set<std::thread::id>* mask_threads = nullptr,
                            std::mutex* mutex = nullptr)
      : length_(length), fail_at_(fail_at), mask_threads_(mask_threads), mutex_(mutex) {}

  bool allowed(uint32_t* words, size_t count) override {
    if (mask_threads_) {
      std::lock_guard<std::mutex> lock(*mutex_);
      mask_threads_->insert(std::this_thread::get_id());
    }
    if (position_ == fail_at_) throw std::runtime_error("grammar exploded at position " + std::to_string(position_));
    std::fill(words, words + count, 0u);
    for (int32_t t = 0; t < 90; ++t)
      if (allows(t)) words[t >> 5] |= 1u << (t & 31);
    return false;
  }

  void accept(int32_t token) override {
    if (!allows(token)) throw std::runtime_error("token " + std::to_string(token) + " is not allowed");
    ++position_;
  }

  bool complete() const override { return position_ >= length_; }

  bool allows(int32_t token) const { return token < 90 && token % 3 == position_ % 3; }

 private:
  int32_t length_, fail_at_;
  int32_t position_ = 0;
  std::set<std::thread::id>* mask_threads_;
  std::mutex* mutex_;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  out.push_back({toy_text(5, 1), {}});
  out.push_back({toy_text(23, 2), {}});
  out.push_back(toy_image_case(toy_text(4, 3), toy_image(4, 4, 1.0f), toy_text(6, 4)));
  out.push_back(toy_image_case(toy_text(7, 9), toy_image(8, 8, 4.0f), toy_text(3, 10)));
  return out;
}

Request constrained(const Case& c, int32_t length, int32_t max_new = 20, float temperature = 0.0f) {
  SamplingParams p;
  p.temperature = temperature;
  p.seed = 99;
  p.stop_token_ids = {kStop};
  Request r = make_request(c, max_new, p);
  r.constraint = std::make_unique<ModuloConstraint>(length);
  return r;
}

void expect_valid(const Result& r, int32_t length, const std::string& what) {
  ASSERT_TRUE(r.ok()) << what << ": " << r.error;
  EXPECT_EQ(r.finish_reason, FinishReason::StopToken) << what;
  ASSERT_EQ(int32_t(r.token_ids.size()), length + 1) << what;
  for (int32_t i = 0; i < length; ++i) {
    const int32_t t = r.token_ids[size_t(i)];
    EXPECT_TRUE(t < 90 && t % 3 == i % 3) << what << ": token " << i << " is " << t;
  }
  EXPECT_EQ(r.token_ids.back(), kStop) << what;
}

std::vector<std::vector<int32_t>> alone(const std::vector<Case>& cs, int32_t max_new) {
  std::vector<std::vector<int32_t>> out;
  for (const auto& c : cs) out.push_back(toy_engine(toy_options())->submit(make_request(c, max_new)).wait().token_ids);
  return out;
}

TEST(ConstrainedScheduling, PicksObeyTheMaskAndEndWithAStopToken) {
  auto engine = toy_engine(toy_options());
  for (const Case& c : cases()) {
    expect_valid(engine->submit(constrained(c, 6)).wait(), 6, "greedy");
    expect_valid(engine->submit(constrained(c, 9, 20, 1.0f)).wait(), 9, "sampled");
  }
  // The toy model's own picks break the rule, so the mask is what made them valid.
  const auto free = alone({cases()[1]}, 6)[0];
  bool breaks = false;
  for (size_t i = 0; i < free.size(); ++i) breaks |= free[i] % 3 != int32_t(i % 3);
  EXPECT_TRUE(breaks);
}

TEST(ConstrainedScheduling, MasksAreComputedOffTheSchedulerThread) {
  std::set<std::thread::id> mask_threads;
  std::mutex mutex;
  std::thread::id scheduler_thread;
  auto engine = toy_engine(toy_options());
  Request r = constrained(cases()[0], 5);
  r.constraint = std::make_unique<ModuloConstraint>(5, -1, &mask_threads, &mutex);
  r.on_token = [&](int32_t) { scheduler_thread = std::this_thread::get_id(); };
  expect_valid(engine->submit(std::move(r)).wait(), 5, "observed");
  ASSERT_EQ(mask_threads.size(), 1u);
  EXPECT_NE(*mask_threads.begin(), scheduler_thread);
  EXPECT_NE(*mask_threads.begin(), std::this_thread::get_id());
}

TEST(ConstrainedScheduling, UnconstrainedNeighboursKeepTheirTokens) {
  const auto cs = cases();
  const auto expected = alone(cs, 12);
  for (int32_t kv_slots : {4096, 96}) {  // 96: memory pressure, so requests are retracted and re-run
    EngineOptions o = toy_options(kv_slots);
    o.chunk_size = 5;
    auto engine = toy_engine(o);
    std::vector<RequestHandle> free, bound;
    for (size_t i = 0; i < cs.size(); ++i) {
      free.push_back(engine->submit(make_request(cs[i], 12)));
      bound.push_back(engine->submit(constrained(cs[(i + 1) % cs.size()], 7, 20, i % 2 ? 1.0f : 0.0f)));
    }
    for (size_t i = 0; i < cs.size(); ++i) {
      const Result r = free[i].wait();
      EXPECT_TRUE(r.ok()) << r.error;
      EXPECT_EQ(r.token_ids, expected[i]) << "case " << i << " next to constrained requests, kv " << kv_slots;
      expect_valid(bound[i].wait(), 7, "constrained case " + std::to_string(i));
    }
    EXPECT_TRUE(idle_without_leaks(*engine));
  }
}

TEST(ConstrainedScheduling, AFailingConstraintFailsOnlyItsRequest) {
  auto engine = slow_toy_engine(toy_options(), 200);
  const auto cs = cases();
  Request failing = constrained(cs[0], 8);
  failing.constraint = std::make_unique<ModuloConstraint>(8, 3);
  RequestHandle bad = engine->submit(std::move(failing));
  RequestHandle good = engine->submit(constrained(cs[1], 8));
  RequestHandle free = engine->submit(make_request(cs[2], 10));
  const Result r = bad.wait();
  EXPECT_EQ(r.finish_reason, FinishReason::Error);
  EXPECT_EQ(r.error_kind, "invalid_argument");
  EXPECT_NE(r.error.find("grammar exploded at position 3"), std::string::npos) << r.error;
  EXPECT_EQ(r.token_ids.size(), 3u);  // the tokens before the failure
  expect_valid(good.wait(), 8, "neighbour");
  EXPECT_EQ(free.wait().token_ids, alone({cs[2]}, 10)[0]);
  EXPECT_TRUE(idle_without_leaks(*engine));
}

TEST(ConstrainedScheduling, RefusesConstraintsItCannotHonour) {
  auto engine = toy_engine(toy_options());
  Request no_stop = constrained(cases()[0], 4);
  no_stop.sampling->stop_token_ids.clear();
  EXPECT_THROW(engine->submit(std::move(no_stop)), std::exception);
  Request pooled = constrained(cases()[0], 4);
  pooled.pooling = PoolingParams{};
  EXPECT_THROW(engine->submit(std::move(pooled)), std::exception);
  expect_valid(engine->submit(constrained(cases()[0], 4)).wait(), 4, "after refusals");
}

}  // namespace
