// Decode steps as step graphs (model/decode_graphs.h). On a GPU (LOUPE_TEST_DEVICE=cuda:0)
// the graphs are CUDA graphs; elsewhere RecordingBackend records and replays the CPU
// backend's ops with a CUDA graph's rules, so the same plumbing is tested in every build.
//
// A run is 12 text sequences with interleaved KV slots, decoded under a schedule whose batch
// changes size (1, 2, 3, 9, 12: padded to 1, 2, 4, 16, 16), whose KV lengths cross buckets
// (8 tokens in these tests) and which needs more graphs than the LRU keeps.
#include <gtest/gtest.h>

#include <numeric>

#include "golden.h"
#include "greedy_generate.h"
#include "model/kv_cache.h"
#include "model/rope_index.h"
#include "model_cache.h"
#include "recording_backend.h"

namespace loupe::model::test {
namespace {

bool on_gpu() { return test_backend().device().kind == DeviceKind::CUDA; }

// The backend whose capture() records: the GPU's own, or the CPU behind RecordingBackend.
Backend& graph_backend() {
  if (on_gpu()) return test_backend();
  static RecordingBackend recording(make_cpu_backend());
  return recording;
}

DecodeGraphOptions small_graphs() {
  DecodeGraphOptions o;
  o.kv_bucket = 8;
  o.max_graphs = 3;
  return o;
}

std::unique_ptr<Qwen3VLModel> load(Backend& backend, const DecodeGraphOptions& graphs) {
  LoadOptions options;
  options.decode_graphs = graphs;
  return std::make_unique<Qwen3VLModel>(backend, golden_model_dir("tiny-untied"), options);
}

constexpr int kSequences = 12;

// Which sequences decode at each step.
std::vector<std::vector<int>> schedule() {
  std::vector<std::vector<int>> steps;
  auto repeat = [&](std::vector<int> seqs, int times) {
    for (int i = 0; i < times; ++i) steps.push_back(seqs);
  };
  repeat({0, 1, 2}, 6);
  std::vector<int> nine(9), all(kSequences);
  std::iota(nine.begin(), nine.end(), 0);
  std::iota(all.begin(), all.end(), 0);
  repeat(nine, 6);
  repeat({4, 5}, 5);
  repeat(all, 7);
  repeat({7}, 4);
  repeat({0, 1, 2}, 3);  // back to an early key after it was evicted
  return steps;
}

struct ScheduleRun {
  std::vector<std::vector<float>> logits;  // per decode step, [batch, vocab]
};

// Prefills every sequence alone, then runs schedule() with fixed decode tokens, so two
// models see the same inputs whatever their logits are. Slot of token t of sequence s:
// s + kSequences·t (sequences interleave in the pool, as the engine's allocator does).
ScheduleRun run_schedule(Qwen3VLModel& model) {
  const ModelConfig& config = model.config();
  const auto steps = schedule();
  const int32_t max_len = 40 + int32_t(steps.size());
  KVCache cache(model.backend(), config, int64_t(kSequences) * max_len);
  std::vector<std::vector<int32_t>> slots(kSequences);
  std::vector<int32_t> lens(kSequences);
  for (int s = 0; s < kSequences; ++s) {
    for (int32_t t = 0; t < max_len; ++t) slots[s].push_back(s + kSequences * t);
    const int32_t len = 3 + 5 * s % 23;  // 3 .. 25 tokens
    std::vector<int32_t> ids(len);
    for (int32_t i = 0; i < len; ++i) ids[i] = 1 + (s * 31 + i * 17) % 2000;
    ForwardBatch b;
    b.batch_size = 1;
    b.seq_lens = {len};
    b.extend_prefix_lens = {0};
    b.extend_seq_lens = {len};
    b.kv_slots = {slots[s].data()};
    b.out_cache_loc.assign(slots[s].begin(), slots[s].begin() + len);
    b.kv_cache = &cache;
    model.forward(ids, get_rope_index(ids, {}, {}, config).positions, b);
    lens[s] = len;
  }
  ScheduleRun run;
  for (size_t step = 0; step < steps.size(); ++step) {
    const std::vector<int>& seqs = steps[step];
    ForwardBatch b;
    b.mode = ForwardMode::Decode;
    b.batch_size = int(seqs.size());
    b.kv_cache = &cache;
    std::vector<int32_t> ids, positions(3 * seqs.size());
    for (size_t i = 0; i < seqs.size(); ++i) {
      const int s = seqs[i];
      ids.push_back(1 + int32_t((s * 7 + step * 13) % 2000));
      for (int axis = 0; axis < 3; ++axis) positions[axis * seqs.size() + i] = lens[s];  // text: t = h = w
      b.seq_lens.push_back(lens[s] + 1);
      b.extend_prefix_lens.push_back(lens[s]);
      b.extend_seq_lens.push_back(1);
      b.kv_slots.push_back(slots[s].data());
      b.out_cache_loc.push_back(slots[s][lens[s]]);
      ++lens[s];
    }
    run.logits.push_back(model.forward(ids, positions, b));
  }
  return run;
}

int32_t row_argmax(const std::vector<float>& logits, int64_t vocab, size_t row) {
  return argmax(std::span(logits).subspan(row * vocab, vocab));
}

TEST(DecodeGraphs, PadsBatchesToCommonSizes) {
  DecodeGraphOptions o;
  o.max_batch = 100;
  Qwen3VLModel& golden = golden_model("tiny-untied");
  DecodeGraphs graphs(golden.backend(), golden.weights(), golden.config().text, o);
  const std::vector<std::pair<int, int>> expected = {{1, 1},   {2, 2},   {3, 4},   {5, 8},  {8, 8},  {9, 16},
                                                     {16, 16}, {17, 24}, {64, 64}, {65, 96}, {97, 100}, {101, 0}};
  for (auto [batch, padded] : expected) EXPECT_EQ(graphs.padded_batch(batch), padded) << "batch " << batch;
}

// The replay must compute exactly what the same padded plan computes when its ops run one
// by one: same inputs, same kernels, so bit for bit.
TEST(DecodeGraphs, ReplayEqualsThePaddedPlanRunEagerly) {
  auto graphed = load(graph_backend(), small_graphs());
  DecodeGraphOptions eager_plan = small_graphs();
  eager_plan.run_padded_eagerly = true;
  auto reference = load(graph_backend(), eager_plan);
  const ScheduleRun a = run_schedule(*graphed), b = run_schedule(*reference);
  ASSERT_EQ(a.logits.size(), b.logits.size());
  for (size_t step = 0; step < a.logits.size(); ++step)
    ASSERT_EQ(a.logits[step], b.logits[step]) << "decode step " << step;
  const DecodeGraphStats& stats = graphed->decode_graph_stats();
  EXPECT_TRUE(stats.available) << stats.unavailable_reason;
  EXPECT_EQ(stats.replays, int64_t(a.logits.size()));
  EXPECT_GE(stats.evictions, 1);
  EXPECT_GT(stats.captures, 5);  // one per (batch, bucket) key, some twice after eviction
  EXPECT_EQ(reference->decode_graph_stats().captures, 0);
}

// Padding changes only the GEMMs' row count, so graph steps agree with plain eager steps
// to rounding: the same greedy token in every row.
TEST(DecodeGraphs, GraphStepsAgreeWithUnpaddedEagerSteps) {
  auto graphed = load(graph_backend(), small_graphs());
  DecodeGraphOptions off;
  off.enabled = false;
  auto eager = load(graph_backend(), off);
  const ScheduleRun a = run_schedule(*graphed), b = run_schedule(*eager);
  const int64_t vocab = graphed->config().text.vocab_size;
  double worst = 0;
  for (size_t step = 0; step < a.logits.size(); ++step) {
    ASSERT_EQ(a.logits[step].size(), b.logits[step].size());
    worst = std::max(worst, relative_max_error(a.logits[step], b.logits[step]));
    if (test_backend_is_bf16()) continue;
    for (size_t row = 0; row < a.logits[step].size() / size_t(vocab); ++row)
      EXPECT_EQ(row_argmax(a.logits[step], vocab, row), row_argmax(b.logits[step], vocab, row))
          << "step " << step << " row " << row;
  }
  std::printf("[decode graphs] worst relative logit difference to unpadded eager steps: %.3g\n", worst);
  EXPECT_LE(worst, test_backend_is_bf16() ? 5e-2 : 1e-5);
  EXPECT_EQ(eager->decode_graph_stats().captures, 0);
}

// Greedy generation after an image prefill: decode steps replay graphs, the tokens are the
// eager ones; a second generation gets a new KV cache, so the graphs are recorded again.
TEST(DecodeGraphs, GreedyGenerationAfterAnImageMatchesEagerAndRecapturesForANewCache) {
  DecodeGraphOptions roomy = small_graphs();
  roomy.max_graphs = 32;  // no evictions: every capture of the second run is for the new cache
  auto graphed = load(graph_backend(), roomy);
  DecodeGraphOptions off;
  off.enabled = false;
  auto eager = load(graph_backend(), off);
  GoldenCase c = load_case("one_image");
  const std::vector<float> pixels = c.inputs->f32("pixel_values");
  Prompt prompt;
  prompt.input_ids = c.input_ids;
  prompt.images.push_back(visual_item(pixels.data(), c.image_grids.at(0)));
  GenerateOptions options;
  options.max_new_tokens = 20;
  const GenerateResult expected = greedy_generate(*eager, prompt, options);
  const GenerateResult first = greedy_generate(*graphed, prompt, options);
  const int64_t captures = graphed->decode_graph_stats().captures;
  const GenerateResult second = greedy_generate(*graphed, prompt, options);
  if (test_backend_is_bf16() && on_gpu()) {
    EXPECT_EQ(first.tokens.at(0), expected.tokens.at(0));
  } else {
    EXPECT_EQ(first.tokens, expected.tokens);
  }
  EXPECT_EQ(second.tokens, first.tokens);
  EXPECT_GE(captures, 2);  // 19 decode steps cross KV buckets of 8
  EXPECT_EQ(graphed->decode_graph_stats().evictions, 0);
  EXPECT_EQ(graphed->decode_graph_stats().captures, 2 * captures) << "graphs of the first cache were replayed";
}

// A capture that fails turns graphs off for the model: the step and every later one run
// eagerly, with the same results as a model that never had graphs.
TEST(DecodeGraphs, FailedCaptureFallsBackToEagerSteps) {
  if (on_gpu()) GTEST_SKIP() << "the failure is injected through RecordingBackend (CPU runs)";
  auto& recording = static_cast<RecordingBackend&>(graph_backend());
  auto graphed = load(recording, small_graphs());
  DecodeGraphOptions off;
  off.enabled = false;
  auto eager = load(recording, off);
  recording.fail_next_capture = true;
  const int captures_before = recording.captures;
  const ScheduleRun a = run_schedule(*graphed), b = run_schedule(*eager);
  for (size_t step = 0; step < a.logits.size(); ++step) ASSERT_EQ(a.logits[step], b.logits[step]) << step;
  const DecodeGraphStats& stats = graphed->decode_graph_stats();
  EXPECT_FALSE(stats.available);
  EXPECT_NE(stats.unavailable_reason.find("capture refused"), std::string::npos) << stats.unavailable_reason;
  EXPECT_EQ(stats.captures, 0);
  EXPECT_EQ(recording.captures, captures_before) << "graphs were tried again after the failure";
}

// The CPU backend has no graphs: decode steps stay eager and unpadded.
TEST(DecodeGraphs, BackendWithoutGraphsRunsEagerly) {
  if (on_gpu()) GTEST_SKIP() << "the GPU backend has graphs";
  auto model = load(cpu_backend(), DecodeGraphOptions{});
  run_schedule(*model);
  const DecodeGraphStats& stats = model->decode_graph_stats();
  EXPECT_FALSE(stats.available);
  EXPECT_NE(stats.unavailable_reason.find("records no step graphs"), std::string::npos) << stats.unavailable_reason;
  EXPECT_EQ(stats.replays, 0);
}

// What makes the CPU runs above meaningful: RecordingBackend refuses what a CUDA capture
// refuses, and a replay reads its inputs from memory at replay time.
TEST(RecordingBackend, RefusesHostTransfersAndReplaysWithNewInputs) {
  RecordingBackend backend(make_cpu_backend(1));
  Buffer a(backend, DType::F32, {4}), b(backend, DType::F32, {4}), y(backend, DType::F32, {4});
  std::vector<float> host = {1, 2, 3, 4};
  EXPECT_THROW(backend.capture([&] { backend.copy_from_host(a.tensor().data, host.data(), 16); }), Error);
  EXPECT_THROW(backend.capture([&] { backend.synchronize(); }), Error);
  std::unique_ptr<StepGraph> graph = backend.capture([&] { backend.add(y, a, b); });
  ASSERT_NE(graph, nullptr);
  for (float scale : {1.0f, 10.0f}) {
    std::vector<float> in = {scale, 2 * scale, 3 * scale, 4 * scale}, out(4);
    backend.copy_from_host(a.tensor().data, in.data(), 16);
    backend.copy_from_host(b.tensor().data, in.data(), 16);
    graph->replay();
    backend.copy_to_host(out.data(), y.tensor().data, 16);
    EXPECT_EQ(out, (std::vector<float>{2 * scale, 4 * scale, 6 * scale, 8 * scale}));
  }
}

}  // namespace
}  // namespace loupe::model::test
