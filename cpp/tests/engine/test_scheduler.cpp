// Scheduler behaviour on the deterministic toy model: every batching, caching, chunking
// and memory-pressure mode must produce the tokens of a single fresh run.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>

#include "core/error.h"
#include "engine_test_util.h"

using namespace loupe;
using namespace loupe::engine::testing;

namespace {

std::vector<Case> golden_like_cases() {
  std::vector<Case> cases;
  cases.push_back({toy_text(5, 1), {}});
  cases.push_back({toy_text(23, 2), {}});
  cases.push_back(toy_image_case(toy_text(4, 3), toy_image(4, 4, 1.0f), toy_text(6, 4)));    // 4 visual tokens
  cases.push_back(toy_image_case(toy_text(2, 5), toy_image(6, 4, 2.0f), toy_text(9, 6)));    // 6
  cases.push_back(toy_image_case(toy_text(3, 7), toy_image(4, 4, 3.0f, 2, VisualKind::Video),
                                 toy_text(5, 8)));                                           // video, 8
  cases.push_back(toy_image_case(toy_text(7, 9), toy_image(8, 8, 4.0f), toy_text(3, 10)));   // 16
  return cases;
}

// The reference: each case alone in a fresh engine, no prefix cache, no chunking.
std::vector<std::vector<int32_t>> fresh_tokens(const std::vector<Case>& cases, int32_t max_new) {
  std::vector<std::vector<int32_t>> out;
  for (const auto& c : cases) {
    EngineOptions o = toy_options();
    o.prefix_cache = false;
    auto engine = toy_engine(o);
    Result r = engine->submit(make_request(c, max_new)).wait();
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.finish_reason, FinishReason::Length);
    EXPECT_EQ(int32_t(r.token_ids.size()), max_new);
    out.push_back(r.token_ids);
  }
  return out;
}

void expect_same(const std::vector<Result>& results, const std::vector<std::vector<int32_t>>& expected,
                 const char* mode) {
  ASSERT_EQ(results.size(), expected.size());
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_TRUE(results[i].ok()) << mode << " case " << i << ": " << results[i].error;
    EXPECT_EQ(results[i].token_ids, expected[i]) << mode << " case " << i;
  }
}

}  // namespace

TEST(Scheduler, FreshRunsDifferPerPromptAndImage) {
  auto tokens = fresh_tokens(golden_like_cases(), 10);
  for (size_t i = 0; i < tokens.size(); ++i)
    for (size_t j = i + 1; j < tokens.size(); ++j) EXPECT_NE(tokens[i], tokens[j]) << i << " vs " << j;
}

TEST(Scheduler, BatchedWarmAndChunkedRunsMatchFreshRuns) {
  const auto cases = golden_like_cases();
  const auto expected = fresh_tokens(cases, 10);
  {
    auto engine = toy_engine(toy_options());
    expect_same(run_all(*engine, cases, 10), expected, "batched");
    auto warm = run_all(*engine, cases, 10);
    expect_same(warm, expected, "warm prefix cache");
    for (size_t i = 0; i < warm.size(); ++i)
      EXPECT_EQ(warm[i].cached_tokens, int32_t(cases[i].ids.size()) - 1) << "warm case " << i;
    EXPECT_TRUE(idle_without_leaks(*engine));
  }
  for (int32_t chunk : {1, 3, 7}) {
    EngineOptions o = toy_options();
    o.chunk_size = chunk;
    o.max_batch_tokens = chunk + 2;  // several requests share a step, each chunked
    auto engine = toy_engine(o);
    expect_same(run_all(*engine, cases, 10), expected, "chunked");
    EXPECT_TRUE(idle_without_leaks(*engine)) << "chunk " << chunk;
  }
}

TEST(Scheduler, RequestsJoinWhileOthersDecode) {
  const auto cases = golden_like_cases();
  const auto expected = fresh_tokens(cases, 24);
  ToyModel* toy = nullptr;
  EngineOptions o = toy_options();
  o.max_running = 3;
  auto engine = toy_engine(o, &toy);
  toy->step_delay_us = 200;
  std::vector<RequestHandle> handles;
  for (const auto& c : cases) {
    handles.push_back(engine->submit(make_request(c, 24)));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    const Result r = handles[i].wait();
    EXPECT_EQ(r.token_ids, expected[i]) << "case " << i;
  }
  EXPECT_GT(engine->stats().decode_steps, 0);
}

TEST(Scheduler, PrefixHitEndingInsideAnImageSpan) {
  // prompt: 4 text, <vs>, 16 image tokens, <ve>, text. Chunks of 8: the first two chunks
  // end at token 8 and 16, both inside the image; the third step fails, leaving the tree
  // with a prefix that ends in the image's 12th visual token.
  Case c = toy_image_case(toy_text(3, 11), toy_image(8, 8, 5.0f), toy_text(5, 12));
  const auto expected = fresh_tokens({c}, 6);
  ToyModel* toy = nullptr;
  EngineOptions o = toy_options();
  o.chunk_size = 8;
  auto engine = toy_engine(o, &toy);
  toy->fail_on_call = 3;
  Result failed = engine->submit(make_request(c, 6)).wait();
  EXPECT_EQ(failed.finish_reason, FinishReason::Error);
  EXPECT_EQ(failed.error_kind, error_kind_name(ErrorKind::Internal));
  EXPECT_NE(failed.error.find("injected"), std::string::npos);

  Result again = engine->submit(make_request(c, 6)).wait();
  ASSERT_TRUE(again.ok()) << again.error;
  EXPECT_EQ(again.cached_tokens, 16);
  EXPECT_EQ(c.ids[15], ToyModel::kImagePad);
  EXPECT_EQ(c.ids[16], ToyModel::kImagePad);  // the hit ends between two visual tokens
  EXPECT_EQ(again.token_ids, expected[0]);
  EXPECT_TRUE(idle_without_leaks(*engine));
}

TEST(Scheduler, DifferentImagesNeverShareSameImageDoes) {
  const auto prefix = toy_text(5, 13);
  Case a = toy_image_case(prefix, toy_image(4, 4, 6.0f), toy_text(4, 14));
  Case b = toy_image_case(prefix, toy_image(4, 4, 7.0f), toy_text(4, 14));  // other pixels
  Case a_other_prompt = toy_image_case(prefix, toy_image(4, 4, 6.0f), toy_text(4, 15));
  Case a_other_settings = a;
  a_other_settings.visuals[0].preprocess_key = "toy,max_pixels=1024";

  ToyModel* toy = nullptr;
  auto engine = toy_engine(toy_options(), &toy);
  Result ra = engine->submit(make_request(a)).wait();
  Result rb = engine->submit(make_request(b)).wait();
  EXPECT_EQ(rb.cached_tokens, 6);  // text + <vision_start>, not one visual token
  EXPECT_NE(ra.token_ids, rb.token_ids);
  Result rs = engine->submit(make_request(a_other_settings)).wait();
  EXPECT_EQ(rs.cached_tokens, 6);
  Result rc = engine->submit(make_request(a_other_prompt)).wait();
  EXPECT_EQ(rc.cached_tokens, 6 + 4 + 1);  // text, <vs>, image, <ve>
  EXPECT_EQ(rc.token_ids, fresh_tokens({a_other_prompt}, 8)[0]);
  const EngineStats s = engine->stats();
  EXPECT_EQ(s.prefix_hit_tokens, 6 + 6 + 11);
}

TEST(Scheduler, VisionFeatureCacheSkipsTheTowerAfterKvEviction) {
  Case a = toy_image_case(toy_text(2, 16), toy_image(4, 8, 8.0f), toy_text(3, 17));
  Case a2 = toy_image_case(toy_text(2, 18), toy_image(4, 8, 8.0f), toy_text(3, 17));  // no shared KV
  for (size_t cache_bytes : {size_t(0), size_t(1) << 20}) {
    ToyModel* toy = nullptr;
    EngineOptions o = toy_options();
    o.prefix_cache = false;
    o.vision_cache_bytes = cache_bytes;
    auto engine = toy_engine(o, &toy);
    Result r1 = engine->submit(make_request(a)).wait();
    Result r2 = engine->submit(make_request(a2)).wait();
    ASSERT_TRUE(r1.ok() && r2.ok());
    EXPECT_EQ(toy->vision_calls.load(), cache_bytes ? 1 : 2);
    EXPECT_EQ(r2.token_ids, fresh_tokens({a2}, 8)[0]);
  }
}

TEST(Scheduler, MemoryPressureEvictsAndRetractsWithoutChangingTokens) {
  const auto cases = golden_like_cases();
  const auto expected = fresh_tokens(cases, 20);
  EngineOptions o = toy_options(72);  // the longest request needs 48 slots
  o.chunk_size = 16;
  auto engine = toy_engine(o);
  expect_same(run_all(*engine, cases, 20), expected, "memory pressure");
  expect_same(run_all(*engine, cases, 20), expected, "memory pressure, second round");
  const EngineStats s = engine->stats();
  EXPECT_GT(s.retractions, 0);
  EXPECT_GT(s.prefix_evicted_tokens, 0);
  EXPECT_TRUE(idle_without_leaks(*engine));
}

TEST(Scheduler, SeededSamplingIsIndependentOfBatching) {
  const auto cases = golden_like_cases();
  SamplingParams p;
  p.temperature = 0.9f;
  p.top_k = 20;
  p.top_p = 0.95f;
  p.seed = 1234;
  auto sample_all = [&](Engine& engine) {
    std::vector<RequestHandle> handles;
    for (const auto& c : cases) handles.push_back(engine.submit(make_request(c, 12, p)));
    std::vector<std::vector<int32_t>> out;
    for (auto& h : handles) out.push_back(h.wait().token_ids);
    return out;
  };
  EngineOptions chunked = toy_options();
  chunked.chunk_size = 3;
  auto a = sample_all(*toy_engine(toy_options()));
  auto b = sample_all(*toy_engine(chunked));
  EXPECT_EQ(a, b);
  std::vector<std::vector<int32_t>> alone;
  for (const auto& c : cases) alone.push_back(toy_engine(toy_options())->submit(make_request(c, 12, p)).wait().token_ids);
  EXPECT_EQ(a, alone);
}

TEST(Scheduler, StopTokensStreamingAndCallbacks) {
  Case c{toy_text(6, 19), {}};
  const auto expected = fresh_tokens({c}, 8)[0];
  auto engine = toy_engine(toy_options());
  SamplingParams p;
  p.temperature = 0;
  p.max_new_tokens = 8;
  p.stop_token_ids = {expected[3]};
  std::vector<int32_t> streamed;
  std::atomic<int> completions{0};
  Request r = make_request(c, 8, p);
  r.on_token = [&](int32_t t) { streamed.push_back(t); };
  r.on_complete = [&](const Result&) { ++completions; };
  const Result result = engine->submit(std::move(r)).wait();
  EXPECT_EQ(result.finish_reason, FinishReason::StopToken);
  auto first_stop = std::find(expected.begin(), expected.end(), expected[3]) - expected.begin();
  EXPECT_EQ(result.token_ids, std::vector<int32_t>(expected.begin(), expected.begin() + first_stop + 1));
  EXPECT_EQ(streamed, result.token_ids);
  EXPECT_EQ(completions.load(), 1);
  EXPECT_GE(result.timings.prefill_ms, 0.0);

  Request throwing = make_request(c);
  throwing.on_token = [](int32_t) { throw std::runtime_error("consumer went away"); };
  Result failed = engine->submit(std::move(throwing)).wait();
  EXPECT_EQ(failed.finish_reason, FinishReason::Error);
  EXPECT_NE(failed.error.find("consumer went away"), std::string::npos);
  EXPECT_TRUE(engine->submit(make_request(c)).wait().ok());  // the engine keeps serving
}

TEST(Scheduler, StatsCountACompletionBeforeItIsObserved) {
  // Callers read stats() right after wait() or inside on_complete; the request they just saw
  // finish must already be counted there, not one scheduler step later.
  auto engine = toy_engine(toy_options());
  Case c{toy_text(6, 21), {}};
  for (int i = 1; i <= 5; ++i) {
    int64_t seen_in_callback = -1;
    Request r = make_request(c, 3);
    r.on_complete = [&](const Result&) { seen_in_callback = engine->stats().completed; };
    ASSERT_TRUE(engine->submit(std::move(r)).wait().ok());
    EXPECT_EQ(seen_in_callback, i);
    EXPECT_EQ(engine->stats().completed, i);
  }
}

TEST(Scheduler, RejectsInvalidRequestsWithClearErrors) {
  auto engine = toy_engine(toy_options(64));
  auto kind_of = [&](Request r) {
    try {
      engine->submit(std::move(r));
    } catch (const Error& e) {
      return std::string(error_kind_name(e.kind()));
    }
    return std::string("accepted");
  };
  Case good = toy_image_case(toy_text(2, 20), toy_image(4, 4, 9.0f), toy_text(2, 21));
  EXPECT_EQ(kind_of(make_request(good)), "accepted");
  Request empty;
  EXPECT_EQ(kind_of(std::move(empty)), error_kind_name(ErrorKind::InvalidArgument));
  Request out_of_vocab = make_request(good);
  out_of_vocab.token_ids[0] = ToyModel::kVocab;
  EXPECT_EQ(kind_of(std::move(out_of_vocab)), error_kind_name(ErrorKind::InvalidArgument));
  Request missing_pad = make_request(good);
  missing_pad.token_ids.erase(missing_pad.token_ids.begin() + 3);
  EXPECT_EQ(kind_of(std::move(missing_pad)), error_kind_name(ErrorKind::InvalidArgument));
  Request no_attachment = make_request(good);
  no_attachment.visuals.clear();
  EXPECT_EQ(kind_of(std::move(no_attachment)), error_kind_name(ErrorKind::InvalidArgument));
  Request wrong_pixels = make_request(good);
  wrong_pixels.visuals[0].pixel_values.pop_back();
  EXPECT_EQ(kind_of(std::move(wrong_pixels)), error_kind_name(ErrorKind::InvalidArgument));
  Request wrong_kind = make_request(good);
  wrong_kind.visuals[0].kind = VisualKind::Video;
  EXPECT_EQ(kind_of(std::move(wrong_kind)), error_kind_name(ErrorKind::InvalidArgument));
  EXPECT_EQ(kind_of(make_request(good, 60)), error_kind_name(ErrorKind::LimitExceeded));  // 10 + 60 > 63 slots
  Request stop_string = make_request(good);
  stop_string.sampling->stop_strings = {"."};
  EXPECT_EQ(kind_of(std::move(stop_string)), error_kind_name(ErrorKind::InvalidArgument));  // no detokenizer
}

TEST(Scheduler, CancelDeadlineAndClose) {
  ToyModel* toy = nullptr;
  auto engine = toy_engine(toy_options(), &toy);
  toy->step_delay_us = 2000;
  Case c{toy_text(8, 22), {}};
  RequestHandle cancelled = engine->submit(make_request(c, 1000));
  RequestHandle timed;
  {
    Request r = make_request(c, 1000);
    r.timeout_ms = 20;
    timed = engine->submit(std::move(r));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(engine->cancel(cancelled.id()));
  EXPECT_EQ(cancelled.wait().finish_reason, FinishReason::Cancelled);
  EXPECT_EQ(timed.wait().finish_reason, FinishReason::Timeout);
  EXPECT_EQ(timed.wait().error_kind, error_kind_name(ErrorKind::Timeout));
  EXPECT_FALSE(engine->cancel(cancelled.id()));

  RequestHandle in_flight = engine->submit(make_request(c, 1000));
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  engine->close();
  EXPECT_EQ(in_flight.wait().finish_reason, FinishReason::Cancelled);
  EXPECT_EQ(in_flight.wait().error, "engine closed");
  EXPECT_THROW(engine->submit(make_request(c)), Error);
}

TEST(Scheduler, QueueLimitRefusesExcessSubmits) {
  EngineOptions o = toy_options();
  o.queue_limit = 2;
  o.max_running = 1;
  auto engine = slow_toy_engine(o, 5000);
  Case c{toy_text(4, 23), {}};
  std::vector<RequestHandle> accepted;
  int refused = 0;
  for (int i = 0; i < 10; ++i) {
    try {
      accepted.push_back(engine->submit(make_request(c, 50)));
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Overloaded);
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
  engine->close();
  for (auto& h : accepted) h.wait();
}

// Hundreds of submits from several threads into a small pool, with cancellations and
// deadlines: every request ends, successful ones with the fresh-run tokens.
TEST(Scheduler, StressManyThreadsSmallPool) {
  const auto cases = golden_like_cases();
  const auto expected = fresh_tokens(cases, 12);
  EngineOptions o = toy_options(160);
  o.chunk_size = 8;
  o.max_running = 8;
  auto engine = toy_engine(o);
  constexpr int kThreads = 4, kPerThread = 60;
  std::atomic<int> ok{0}, cancelled{0}, timed_out{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::pair<size_t, RequestHandle>> mine;
      for (int i = 0; i < kPerThread; ++i) {
        const size_t which = size_t(t * 7 + i) % cases.size();
        Request r = make_request(cases[which], 12);
        if (i % 9 == 4) r.timeout_ms = 1;
        mine.emplace_back(which, engine->submit(std::move(r)));
        if (i % 11 == 5) mine.back().second.cancel();
      }
      for (auto& [which, h] : mine) {
        const Result r = h.wait();
        if (r.ok()) {
          ++ok;
          if (r.token_ids != expected[which]) ++wrong;
        } else if (r.finish_reason == FinishReason::Cancelled) {
          ++cancelled;
        } else if (r.finish_reason == FinishReason::Timeout) {
          ++timed_out;
        } else {
          ADD_FAILURE() << "unexpected failure: " << r.error;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok + cancelled + timed_out, kThreads * kPerThread);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(ok.load(), kThreads * kPerThread / 2);
  EXPECT_TRUE(idle_without_leaks(*engine));
  const EngineStats s = engine->stats();
  EXPECT_EQ(s.completed + s.failed, kThreads * kPerThread);
}

TEST(Scheduler, StatsFieldsNameEveryCounterOnce) {
  EngineStats s;
  s.waiting = 1;
  s.generated_tokens = 17;
  const auto fields = engine_stats_fields(s);
  EXPECT_EQ(fields.size(), sizeof(EngineStats) / sizeof(int64_t)) << "a counter is missing from engine_stats_fields";
  std::set<std::string> names;
  for (const auto& [name, value] : fields) EXPECT_TRUE(names.insert(name).second) << name;
  EXPECT_EQ(fields.front().first, std::string("waiting"));
  EXPECT_EQ(fields.front().second, 1);
  EXPECT_EQ(fields.back().first, std::string("generated_tokens"));
  EXPECT_EQ(fields.back().second, 17);
}
