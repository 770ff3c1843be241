// The memory estimate made before allocating, on real MPI ranks (registered at 1, 2 and 4):
// for every algorithm, with and without local momentum, and every model, the estimated
// parameters and algorithm state equal what the run then allocated; a deck that cannot fit
// is refused with the figures.
#include <olsgd/algo/memory_estimate.hpp>
#include <olsgd/core/error.hpp>
#include <olsgd/run/trainer.hpp>

#include <gtest/gtest.h>
#include <mpi.h>

#include <string>
#include <test_helpers.hpp>
#include <vector>

namespace {

using namespace olsgd;
using test::world_size;

const char* kDeck = R"(
run: {seed: 3, steps: 8, log_every: 1000}
data: {samples: 256, features: 10}
algorithm: {tau: 2}
optimizer: {lr: 0.01, batch: 4}
)";

RunOutcome run(const Config& c) {
  comm::Communicator comm(MPI_COMM_WORLD);
  return run_training(c, comm, {});
}

TEST(memory, the_estimated_state_is_what_every_algorithm_allocates) {
  const std::vector<std::vector<std::string>> algorithms = {
      {"algorithm.name=minibatch_sgd"},
      {"algorithm.name=accelerated_minibatch_sgd"},
      {"algorithm.name=local_sgd"},
      {"algorithm.name=overlap_local_sgd"},
      {"algorithm.name=overlap_local_sgd", "algorithm.anchor_compression=quantize"},
      {"algorithm.name=overlap_local_sgd_momentum", "algorithm.anchor_momentum=0.5"},
      {"algorithm.name=overlap_local_sgd", "algorithm.fragments=2"},
      {"algorithm.name=overlap_local_sgd", "algorithm.group_size=1", "algorithm.group_rounds=2"},
      {"algorithm.name=overlap_local_sgd", "algorithm.local_steps=timed"},
      {"algorithm.name=local_sgd", "algorithm.group_size=1"},
      {"algorithm.name=slowmo"},
      {"algorithm.name=slowmo", "algorithm.slowmo_buffers=reset"},
      {"algorithm.name=slowmo", "algorithm.slowmo_base=overlap_local_sgd",
       "algorithm.slowmo_period=4"},
      {"algorithm.name=sketched_sgd", "sketch.rows=2", "sketch.cols=4", "sketch.k=2"},
      {"algorithm.name=qsgd"},
      {"algorithm.name=dq_sgd"},
  };
  for (const char* momentum : {"optimizer.momentum=0", "optimizer.momentum=0.9"})
    for (auto sets : algorithms) {
      sets.push_back(momentum);
      std::string trace;
      for (const auto& s : sets) trace += s + " ";
      SCOPED_TRACE(trace);
      const RunOutcome out = run(parse_config(kDeck, "memory-test", sets, world_size()));
      EXPECT_EQ(out.memory.params, static_cast<double>(out.num_params));
      EXPECT_EQ(out.memory.state_bytes, out.state_bytes);
      EXPECT_EQ(out.memory.work_bytes, 2.0 * out.num_params * sizeof(double));
      // 256 samples of 10 float64 features and a label, split evenly.
      EXPECT_EQ(out.memory.data_bytes, 256.0 / world_size() * 11 * 8);
    }
}

TEST(memory, the_estimated_parameters_are_what_every_model_has) {
  const std::string fashion = "run: {steps: 2}\ndata: {kind: fashion_mnist, limit: 2000}\n";
  for (const char* model : {"model.kind=logistic", "model.kind=mlp"}) {
    SCOPED_TRACE(model);
    const Config c =
        parse_config(fashion, "memory-test", {model, "model.hidden=16,8"}, world_size());
    const RunOutcome out = run(c);
    EXPECT_EQ(out.memory.params, static_cast<double>(out.num_params));
    EXPECT_EQ(out.memory.state_bytes, out.state_bytes);
    // What the deck alone implies (before reading the files) is the same model.
    EXPECT_EQ(model_params(c, shape_from_deck(c, 0, world_size())), out.memory.params);
  }
}

TEST(memory, a_deck_that_cannot_fit_is_refused_with_the_figures) {
  // Two hidden layers of 50000: 2.54e9 parameters, 48 GiB of float32 state and work.
  const Config c = parse_config(
      "data: {kind: fashion_mnist}\nmodel: {kind: mlp, hidden: "
      "\"50000,50000\"}\nalgorithm: {name: overlap_local_sgd}\n",
      "memory-test", {}, world_size());
  const MemoryEstimate e = estimate_memory(c, shape_from_deck(c, 0, world_size()), world_size());
  EXPECT_EQ(e.params, 784.0 * 50000 + 50000 + 50000.0 * 50000 + 50000 + 50000.0 * 10 + 10);
  EXPECT_EQ(e.state_bytes, 3 * e.params * 4);  // params, send, anchor
  EXPECT_EQ(memory_refusal(e, 2 * e.total(), 1, "this node"), "");
  const std::string refusal = memory_refusal(e, 8.0 * (1 << 30), 2, "this node");
  EXPECT_NE(
      refusal.find("GiB (2.54 G parameters: state 28.4 GiB, gradient and averaged model 18.9 GiB"),
      std::string::npos)
      << refusal;
  EXPECT_NE(refusal.find("only 8.0 GiB is available to each of the 2 ranks on this node; shrink"),
            std::string::npos)
      << refusal;
  const std::string alone = memory_refusal(e, 8.0 * (1 << 30), 1, "this node");
  EXPECT_NE(alone.find("only 8.0 GiB is available to the 1 rank on this node; shrink"),
            std::string::npos)
      << alone;
  // A device build asks the GPU the rank runs on: its share of the free device memory.
  const std::string on_gpu = memory_refusal(e, 40.0 * (1 << 30), 3, "GPU 1");
  EXPECT_NE(on_gpu.find("only 40.0 GiB is available to each of the 3 ranks on GPU 1; shrink"),
            std::string::npos)
      << on_gpu;
  try {
    run(c);
    ADD_FAILURE() << "a 48 GiB model was not refused";
  } catch (const InputError& err) {
    EXPECT_NE(std::string(err.what()).find("each rank needs about"), std::string::npos)
        << err.what();
  }
}

TEST(memory, sparse_rows_stay_sparse_in_the_estimate) {
  // LIBSVM rows stay in CRS form: the logistic model's scratch is its logits (a batch or an
  // evaluation chunk, by classes), whatever the width. Counted as dense input rows, a file whose
  // largest index is 2^31 - 1 was refused as if one batch's activations did not fit.
  const Config c = parse_config(
      "data: {kind: libsvm, path: unused.svm}\nmodel: {kind: logistic}\noptimizer: {batch: 64}\n",
      "memory-test", {}, world_size());
  ProblemShape narrow;
  narrow.known = narrow.sparse = true;
  narrow.features = 1000, narrow.classes = 10, narrow.train_rows = 100, narrow.nonzeros = 1000;
  ProblemShape wide = narrow;
  wide.features = 2147483647;
  const MemoryEstimate e = estimate_memory(c, wide, 1);
  EXPECT_EQ(e.scratch_bytes, estimate_memory(c, narrow, 1).scratch_bytes);
  EXPECT_LT(e.scratch_bytes, 1 << 20);
  const std::string refusal = memory_refusal(e, 8.0 * (1 << 30), 1, "this node");
  EXPECT_EQ(refusal.find("optimizer.batch"), std::string::npos) << refusal;
  EXPECT_NE(refusal.find("; shrink the model or the data"), std::string::npos) << refusal;
}

}  // namespace
